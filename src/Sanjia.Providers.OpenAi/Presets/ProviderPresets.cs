namespace Sanjia.Providers.OpenAi.Presets;

/// <summary>
/// Built-in vendor presets. Each entry's endpoint facts (base URL, key variable, headers) follow the vendor's own
/// documentation; the sampling quirks (temperature ranges, fixed sampling, <c>n</c>, stream usage, output caps) are
/// data in the catalogue (catalogue.json, <c>quirks</c>), each with its source, read by <see cref="CatalogueQuirks"/>.
/// docs/providers.md lists the sources. Model lists are what <c>/v1/models</c> shows (retired models are left out);
/// any other model id is still forwarded as <c>preset/model</c>.
/// </summary>
public static class ProviderPresets
{
    /// <summary>Every preset, with its catalogue quirks applied.</summary>
    public static readonly ProviderPreset[] All = [.. Defined().Select(p => p with { Quirks = CatalogueQuirks.For(p.Name, p.Quirks) })];

    private static ProviderPreset[] Defined() =>
    [
        new("openai", "OpenAI", "https://api.openai.com/v1", "OPENAI_API_KEY",
            ["gpt-5.5", "gpt-5", "gpt-5-mini", "gpt-4.1"],
            ["text-embedding-3-small", "text-embedding-3-large"],
            "USD",
            // OpenAI is the reference: no catalogue quirks.
            new PresetQuirks(
                // why: gpt-5*/o* reasoning models reject max_tokens and non-default temperature/top_p
                Notes: "Reasoning models need max_completion_tokens and reject temperature/top_p."))
        {
            // why: images/generations, https://developers.openai.com/api/reference (CreateImageRequest)
            ImageModels = ["gpt-image-1", "dall-e-3", "dall-e-2"],
        },

        new("deepseek", "DeepSeek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY",
            ["deepseek-flash", "deepseek-v4-pro", "deepseek-v4-flash"],
            [],
            "USD", // why: English docs price in USD; zh-cn page prices the same models in CNY
            new PresetQuirks(
                AnthropicBaseUrl: "https://api.deepseek.com/anthropic",
                Notes: "Official base is https://api.deepseek.com (the /v1 suffix is also accepted). Thinking via non-standard `thinking`+`reasoning_effort`; reasoning_content must be echoed back on tool-call turns.")),

        new("moonshot", "Moonshot Kimi (global)", "https://api.moonshot.ai/v1", "MOONSHOT_API_KEY",
            ["kimi-k3", "kimi-k2.6", "kimi-k2.5", "kimi-k2-thinking", "moonshot-v1-128k"],
            [],
            "USD",
            new PresetQuirks(
                AnthropicBaseUrl: "https://api.moonshot.ai/anthropic", // 3P-sourced
                Notes: "kimi-k2.6 and kimi-k2.5 also fix top_p and penalties (temperature and n are checked from the catalogue). temperature~0 with n>1 -> invalid_request_error; n<=5 on older models. kimi-k3 sets thinking with reasoning_effort. Stream-usage location unconfirmed.")),

        new("moonshot-cn", "Moonshot Kimi (China)", "https://api.moonshot.cn/v1", "MOONSHOT_API_KEY",
            ["kimi-k3", "kimi-k2.6", "kimi-k2.5", "kimi-k2-thinking", "moonshot-v1-128k"],
            [],
            "CNY",
            new PresetQuirks(
                AnthropicBaseUrl: "https://api.moonshot.cn/anthropic", // 3P-sourced
                Notes: "China-region keys are separate from .ai keys.")),

        new("zhipu", "Zhipu GLM (bigmodel.cn)", "https://open.bigmodel.cn/api/paas/v4", "ZHIPUAI_API_KEY",
            ["glm-5.3", "glm-5.2", "glm-5.1", "glm-5", "glm-4.7", "glm-4.5-air"],
            ["embedding-3"],
            "CNY",
            new PresetQuirks(
                AnthropicBaseUrl: "https://open.bigmodel.cn/api/anthropic",
                Notes: "top_p in (0,1]. max_tokens only (no max_completion_tokens). tool_choice only 'auto'. do_sample=false disables sampling. Coding Plan keys need https://open.bigmodel.cn/api/coding/paas/v4. docs.bigmodel.cn examples use ZAI_API_KEY."))
        {
            // why: CogView-4 on {base}/images/generations, https://docs.bigmodel.cn/cn/guide/models/image-generation/cogview-4 (answers with URLs)
            ImageModels = ["cogview-4"],
        },

        new("zai", "Z.AI (GLM, international)", "https://api.z.ai/api/paas/v4", "ZAI_API_KEY",
            ["glm-5.3", "glm-5.2", "glm-5.1", "glm-5", "glm-4.7", "glm-4.5-air"],
            [],
            "USD",
            new PresetQuirks(
                AnthropicBaseUrl: "https://api.z.ai/api/anthropic",
                Notes: "Coding Plan keys need https://api.z.ai/api/coding/paas/v4. glm-5.3 always reasons (reasoning_effort low/high/max).")),

        new("qwen", "Alibaba Qwen (DashScope, Beijing)", "https://dashscope.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY",
            ["qwen3.7-max", "qwen3.6-plus", "qwen3-max", "qwen3.5-plus", "qwen-plus", "qwen-flash", "qwen3-coder-plus"],
            ["text-embedding-v4", "text-embedding-v3"],
            "CNY",
            new PresetQuirks(
                AnthropicBaseUrl: "https://dashscope.aliyuncs.com/apps/anthropic",
                Notes: "Region-specific keys (401 on mismatch). enable_thinking via extra body; open-source Qwen3 non-stream calls need enable_thinking=false. Temperature [0,2) and n<=4 unconfirmed for Model Studio.")),

        new("qwen-intl", "Alibaba Qwen (Model Studio, Singapore)", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY",
            ["qwen3.7-max", "qwen3.6-plus", "qwen3-max", "qwen3.5-plus", "qwen-plus", "qwen-flash", "qwen3-coder-plus"],
            ["text-embedding-v4", "text-embedding-v3"],
            "USD",
            new PresetQuirks(
                AnthropicBaseUrl: "https://dashscope-intl.aliyuncs.com/apps/anthropic",
                Notes: "Singapore key differs from Beijing key. US region: https://dashscope-us.aliyuncs.com/compatible-mode/v1.")),

        new("minimax", "MiniMax (global)", "https://api.minimax.io/v1", "MINIMAX_API_KEY",
            ["MiniMax-M3", "MiniMax-M2.7", "MiniMax-M2.7-highspeed", "MiniMax-M2.5", "MiniMax-M2.1"],
            [],
            "USD",
            new PresetQuirks(
                AnthropicBaseUrl: "https://api.minimax.io/anthropic",
                Notes: "Use max_completion_tokens (max_tokens deprecated). top_p in (0,1]. Reasoning may arrive as <think> tags in content.")),

        new("minimax-cn", "MiniMax (China)", "https://api.minimaxi.com/v1", "MINIMAX_API_KEY",
            ["MiniMax-M3", "MiniMax-M2.7", "MiniMax-M2.7-highspeed", "MiniMax-M2.5", "MiniMax-M2.1"],
            [],
            "CNY",
            new PresetQuirks(
                AnthropicBaseUrl: "https://api.minimaxi.com/anthropic")),

        new("qianfan", "Baidu Qianfan", "https://qianfan.baidubce.com/v2", "QIANFAN_API_KEY",
            ["ernie-5.1"], // why: ERNIE-5.0 and ERNIE-4.5-Turbo-128K retired 2026-10-29 (Qianfan retirement page)
            [],
            "CNY",
            new PresetQuirks(
                Notes: "Key format bce-v3/ALTAK-.../... sent as Bearer. Optional 'appid' header selects a V2 app. Env var name is our convention. Sampling ranges unconfirmed.")),

        // why: Tencent closed the original Hunyuan platform (api.hunyuan.cloud.tencent.com) on 2026-09-30 and moved its
        // models to TokenHub (cloud.tencent.com/document/product/1729/131925, 1823/131382).
        new("hunyuan", "Tencent Hunyuan (TokenHub)", "https://tokenhub.tencentmaas.com/v1", "TOKENHUB_API_KEY",
            ["hy4", "hy4-preview", "hy3-preview"], // why: hy3 retires 2026-12-30 (Tencent CloudBase notice), replaced by hy4
            [],
            "CNY",
            new PresetQuirks(
                Notes: "Thinking is switched by reasoning_effort (no_think, low, high); max_tokens includes thinking tokens. n unconfirmed.")),

        // why: TokenHub's Singapore site has its own host (www.tencentcloud.com/document/product/1300/78941, which also
        // lists the models it serves) and its own keys: keys do not cross sites, so it reads its own variable.
        new("hunyuan-intl", "Tencent TokenHub (Singapore)", "https://tokenhub-intl.tencentcloudmaas.com/v1", "TOKENHUB_INTL_API_KEY",
            ["deepseek-v4-pro", "deepseek-v4-flash", "glm-5.1", "kimi-k2.6", "minimax-m2.7"],
            [],
            "USD",
            new PresetQuirks(
                Notes: "Backup host https://tokenhub-intl.tencentcloudmaas.tech/v1. Env var name is our convention. Billing currency unconfirmed (international site).")),

        new("spark", "iFlytek Spark", "https://spark-api-open.xf-yun.com/v1", "SPARK_API_PASSWORD",
            ["4.0Ultra", "lite"], // why: iFlytek's price page (2026-10) no longer sells Max/Pro; Ultra now runs X1.5
            [],
            "CNY",
            new PresetQuirks(
                Notes: "Key must be the app's HTTP APIPassword (or 'APIKey:APISecret'), still sent as 'Authorization: Bearer'. X1 reasoning model lives at https://spark-api-open.xf-yun.com/v2 (model 'x1'). top_k in [1,6]. Responses carry extra code/message/sid fields. Env var name is our convention.")),

        new("groq", "Groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY",
            ["openai/gpt-oss-120b", "openai/gpt-oss-20b", "qwen/qwen3-32b"], // why: the Llama models were decommissioned 2026-08-16
            [],
            "USD",
            new PresetQuirks(
                Notes: "logprobs, logit_bias, top_logprobs and messages[].name return 400. Strip them. Temperature 0 is converted to 1e-8.")),

        new("together", "Together AI", "https://api.together.ai/v1", "TOGETHER_API_KEY",
            ["openai/gpt-oss-120b", "meta-llama/Llama-3.3-70B-Instruct-Turbo"],
            [], // why: Together's own model list (2026-10-07) offers no embedding models; m2-bert was retired
            "USD",
            new PresetQuirks(
                Notes: "Legacy host https://api.together.xyz/v1 still common. Extra sampling params top_k/repetition_penalty."))
        {
            // why: {base}/images/generations, https://docs.together.ai/docs/inference/images/overview (URLs by default, b64_json on request)
            ImageModels = ["black-forest-labs/FLUX.1-schnell"],
        },

        new("mistral", "Mistral AI", "https://api.mistral.ai/v1", "MISTRAL_API_KEY",
            ["mistral-large-latest", "mistral-medium-3.5", "mistral-small-latest", "magistral-medium-latest", "codestral-latest"],
            ["mistral-embed"],
            "USD",
            new PresetQuirks(
                Notes: "Strict schema: unknown fields -> 422 extra_forbidden. Send max_tokens (not max_completion_tokens), drop reasoning_content from assistant history, seed is 'random_seed'. n is supported.")),

        new("openrouter", "OpenRouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY",
            ["openai/gpt-5", "anthropic/claude-sonnet-4.5", "moonshotai/kimi-k2-0905"],
            [],
            "USD",
            new PresetQuirks(
                // why: optional attribution headers; HTTP-Referer is the primary app identifier for rankings
                ExtraHeaders: new Dictionary<string, string>
                {
                    // HTTP-Referer (the site) is the user's to set under Providers:openrouter:Headers.
                    ["X-Title"] = "Sanjia",
                },
                Notes: "Usage is always included in streams (include_usage is a no-op). Model ids are vendor/model.")),

        new("ollama", "Ollama (local)", "http://localhost:11434/v1", null,
            ["gpt-oss:20b", "qwen3-coder"],
            ["nomic-embed-text"],
            "USD", // local: zero cost
            new PresetQuirks(
                AnthropicBaseUrl: "http://localhost:11434", // why: Ollama >= 0.14 serves /v1/messages
                Notes: "SDKs need a non-empty dummy key (e.g. 'ollama'). Model list = locally pulled models.")),

        new("vllm", "vLLM (local)", "http://localhost:8000/v1", null,
            [],
            [],
            "USD", // local
            new PresetQuirks(
                AnthropicBaseUrl: "http://localhost:8000",
                Notes: "Optional auth: server --api-key (VLLM_API_KEY) -> Bearer. Models = whatever is served. Extra sampling params (top_k, min_p) go in the body.")),

        new("llamacpp", "llama.cpp server (local)", "http://localhost:8080/v1", null,
            [],
            [],
            "USD", // local
            new PresetQuirks(
                AnthropicBaseUrl: "http://localhost:8080", // why: llama-server /v1/messages (Jan 2026)
                Notes: "Optional --api-key -> Bearer. best_of/suffix/echo rejected. Embeddings need --embeddings. Tools need --jinja.")),
    ];

    public static ProviderPreset? Find(string name) =>
        Array.Find(All, p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
}
