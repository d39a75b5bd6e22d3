namespace Sanjia.Bench.Load;

/// <summary>nginx as a plain pass-through reverse proxy: one worker, keep-alive to the upstream, no buffering.</summary>
public static class Nginx
{
    public static Child Start(string dir, int port, int upstreamPort, int pacedPort, int pacedUpstreamPort, int? cpu)
    {
        var conf = Path.Combine(dir, "nginx.conf");
        File.WriteAllText(conf, $$"""
            worker_processes 1;
            daemon off;
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/nginx-error.log warn;
            events { worker_connections 4096; }
            http {
                access_log off;
                client_body_temp_path {{dir}}/client_body;
                proxy_temp_path {{dir}}/proxy;
                fastcgi_temp_path {{dir}}/fastcgi;
                uwsgi_temp_path {{dir}}/uwsgi;
                scgi_temp_path {{dir}}/scgi;
                keepalive_requests 1000000;
                upstream fast { server 127.0.0.1:{{upstreamPort}}; keepalive 512; }
                upstream paced { server 127.0.0.1:{{pacedUpstreamPort}}; keepalive 512; }
                server {
                    listen 127.0.0.1:{{port}};
                    location / { proxy_pass http://fast; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
                }
                server {
                    listen 127.0.0.1:{{pacedPort}};
                    location / { proxy_pass http://paced; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
                }
            }
            """);
        var nginx = File.Exists("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
        return Child.Start(nginx, ["-e", Path.Combine(dir, "nginx-error.log"), "-p", dir, "-c", conf], Path.Combine(dir, "nginx.log"), cpu);
    }
}
