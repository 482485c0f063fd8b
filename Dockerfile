# KeelPortal: build with the .NET SDK, run on the ASP.NET runtime as a non-root user.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig KeelPortal.csproj ./
RUN dotnet restore KeelPortal.csproj
COPY appsettings.json ./
COPY wwwroot ./wwwroot
COPY Migrations ./Migrations
COPY KeelPortal ./KeelPortal
RUN dotnet publish KeelPortal.csproj --configuration Release --no-restore --output /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./
# The SQLite database, Hangfire's storage and the key ring that encrypts stored secrets live on the /data volume.
ENV ASPNETCORE_URLS=http://+:8080 \
    Data__ConnectionString="Data Source=/data/keelportal.db" \
    Jobs__StoragePath=/data/hangfire.db \
    Data__KeysPath=/data/keys
RUN mkdir -p /data && chown app:app /data
VOLUME /data
EXPOSE 8080
USER app
# The runtime image has no curl; bash speaks just enough HTTP to ask /healthz.
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["dotnet", "KeelPortal.dll"]
