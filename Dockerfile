# Sanjia in a container, following the official .NET images' conventions: port 8080 (ASPNETCORE_HTTP_PORTS), the
# non-root `app` user those images create, state in volumes.
#
# This file packages the output of the publish step; it does not build inside Docker. That step is the tested one
# (docs/deployment.md); Docker itself is not available where this repository is built and tested, so this file has
# not been built here. Build with:
#   dotnet publish src/Sanjia -p:PublishProfile=linux-x64 -o artifacts/linux-x64
#   docker build -t sanjia .
#
# Stopping: on SIGTERM requests in flight get Sanjia__ShutdownDrainSeconds (20 s), then open streams end with their
# protocol's error event and the process exits within 5 s more: 25 s in all. Docker's default stop grace is 10 s,
# so run with `docker run --stop-timeout 30` (compose: `stop_grace_period: 30s`; Kubernetes' default
# terminationGracePeriodSeconds of 30 s fits), or lower the drain to fit the grace you have.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0

# The self-contained single-file binary and the native libraries published next to it.
COPY --chown=root:root artifacts/linux-x64/ /app/

# /data: database, ledger journal, generated master key (read it with `docker exec <container> cat /data/master.key`;
# it is not printed to the log). /models: GGUF files served as local/<name>.
RUN mkdir -p /data /models && chown app:app /data /models
VOLUME ["/data", "/models"]

# ASPNETCORE_HTTP_PORTS=8080 is set by the base image; Sanjia listens on it (every interface) when Sanjia__Urls is
# unset. Listening on every interface is the point of a container: the start-up warning about it is silenced.
ENV ASPNETCORE_HTTP_PORTS=8080 \
    Sanjia__DataDir=/data \
    Sanjia__ModelsDir=/models \
    Sanjia__NetworkWarning=false \
    Sanjia__ShutdownDrainSeconds=20
EXPOSE 8080

WORKDIR /app
USER app
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/sanjia"]
