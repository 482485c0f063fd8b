# KeelPortal: build with the .NET SDK, run on the ASP.NET runtime as a non-root user.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig KeelPortal.csproj ./
RUN dotnet restore KeelPortal.csproj --runtime linux-x64
COPY appsettings.json ./
COPY wwwroot ./wwwroot
COPY Migrations ./Migrations
COPY KeelPortal ./KeelPortal
# ReadyToRun: the portal and its libraries are compiled ahead of time, so start-up does not wait for the JIT; the
# sandbox (an in-process cluster and registry for trying the portal out) is left out of the image (-p:Sandbox=false)
# (tiered compilation is off, see docs/install.md: Container).
RUN dotnet publish KeelPortal.csproj --configuration Release --no-restore --runtime linux-x64 --self-contained false \
    -p:PublishReadyToRun=true -p:Sandbox=false --output /app

# helm 3 for Helm releases (Helm:Enabled): the official v3.17.1 linux-amd64 build, its binary checked by SHA-256.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS helm
ARG HELM_VERSION=v3.17.1
ARG HELM_BINARY_SHA256=19e2e1ab5fe32cd0510882f9bb97c9dd69fc73026b631ecbd12a981008639aff
RUN curl -fsSL "https://get.helm.sh/helm-${HELM_VERSION}-linux-amd64.tar.gz" -o /tmp/helm.tgz \
    && tar -xzf /tmp/helm.tgz -C /tmp linux-amd64/helm \
    && echo "${HELM_BINARY_SHA256}  /tmp/linux-amd64/helm" | sha256sum -c - \
    && install -m 0755 /tmp/linux-amd64/helm /usr/local/bin/helm

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./
COPY --from=helm /usr/local/bin/helm /usr/local/bin/helm
# The SQLite database, Hangfire's storage and the key ring that encrypts stored secrets live on the /data volume.
ENV ASPNETCORE_URLS=http://+:8080 \
    Data__ConnectionString="Data Source=/data/keelportal.db" \
    Jobs__StoragePath=/data/hangfire.db \
    Data__KeysPath=/data/keys \
    Helm__BinaryPath=/usr/local/bin/helm
RUN mkdir -p /data && chown app:app /data
VOLUME /data
EXPOSE 8080
USER app
# The runtime image has no curl; bash speaks just enough HTTP to ask /healthz.
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["dotnet", "KeelPortal.dll"]
