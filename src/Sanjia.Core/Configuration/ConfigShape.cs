using System.Collections;
using System.ComponentModel;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Sanjia.Core.Configuration;

/// <summary>
/// Checks a configuration section against the options type it binds to, before binding: every key must be a
/// property (a misspelt key would otherwise be ignored and its default silently used), and every value must convert
/// to its property's type (the binder would throw a stack trace). Errors name the exact path and, for an unknown
/// key, the nearest known one. Reflection runs once per start or reload, never per request.
/// </summary>
public static class ConfigShape
{
    /// <summary>Binds the <c>Sanjia</c> section, or returns null with <paramref name="errors"/> filled.</summary>
    public static SanjiaOptions? Bind(IConfiguration configuration, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(errors);
        var section = configuration.GetSection(SanjiaOptions.Section);
        Check(section, typeof(SanjiaOptions), errors);
        if (errors.Any)
        {
            return null;
        }
        var options = new SanjiaOptions();
        section.Bind(options);
        DeprecatedSettings.Apply(section, options, errors);
        return options;
    }

    public static void Check(IConfigurationSection section, Type type, ConfigErrors errors)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(errors);
        type = Nullable.GetUnderlyingType(type) ?? type;
        var children = section.GetChildren().ToList();
        if (IsScalar(type))
        {
            if (children.Count > 0)
            {
                errors.Add(section.Path, $"expected a single value ({Describe(type)}), not a section.");
            }
            else if (!string.IsNullOrEmpty(section.Value) && !Converts(section.Value, type))
            {
                errors.Add(section.Path, $"'{section.Value}' is not {Describe(type)}.");
            }
            return;
        }
        if (children.Count == 0)
        {
            if (!string.IsNullOrEmpty(section.Value))
            {
                errors.Add(section.Path, $"expected a section, not the value '{section.Value}'.");
            }
            return;
        }
        if (DictionaryValueType(type) is { } valueType)
        {
            foreach (var child in children) Check(child, valueType, errors);
            return;
        }
        if (ListElementType(type) is { } elementType)
        {
            foreach (var child in children)
            {
                if (!int.TryParse(child.Key, out _))
                {
                    errors.Add(child.Path, "expected a list: items are numbered 0, 1, 2...");
                    continue;
                }
                Check(child, elementType, errors);
            }
            return;
        }
        var properties = Properties(type);
        foreach (var child in children)
        {
            if (properties.TryGetValue(child.Key, out var property))
            {
                Check(child, property.PropertyType, errors);
                continue;
            }
            var suggestion = Spelling.Closest(child.Key, properties.Keys);
            errors.Add(child.Path, suggestion is not null
                ? $"unknown setting. Did you mean '{suggestion}'?"
                : $"unknown setting. Known settings here: {string.Join(", ", properties.Keys.Order(StringComparer.Ordinal))}.");
        }
    }

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
        || type == typeof(DateTimeOffset) || type == typeof(DateTime) || type == typeof(DateOnly) || type == typeof(TimeOnly) || type == typeof(Uri);

    private static bool Converts(string value, Type type)
    {
        try
        {
            _ = TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or NotSupportedException or ArgumentException or OverflowException
            || ex.InnerException is FormatException or OverflowException)
        {
            return false;
        }
    }

    private static string Describe(Type type) => type switch
    {
        _ when type == typeof(bool) => "true or false",
        _ when type == typeof(string) => "text",
        _ when type == typeof(int) || type == typeof(long) || type == typeof(short) => "a whole number",
        _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) => "a number",
        _ when type.IsEnum => "one of " + string.Join(", ", Enum.GetNames(type)),
        _ => "a " + type.Name,
    };

    private static Type? DictionaryValueType(Type type) =>
        Generic(type, typeof(IDictionary<,>)) is { } d && d.GetGenericArguments()[0] == typeof(string) ? d.GetGenericArguments()[1] : null;

    private static Type? ListElementType(Type type) =>
        type.IsArray ? type.GetElementType() : Generic(type, typeof(IEnumerable<>)) is { } e && typeof(IEnumerable).IsAssignableFrom(type) ? e.GetGenericArguments()[0] : null;

    private static Type? Generic(Type type, Type definition) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == definition ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == definition);

    private static Dictionary<string, PropertyInfo> Properties(Type type)
    {
        var result = new Dictionary<string, PropertyInfo>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetIndexParameters().Length > 0 || p.GetMethod is null) continue;
            var name = p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? p.Name;
            result[name] = p;
        }
        return result;
    }
}
