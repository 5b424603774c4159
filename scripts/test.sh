#!/usr/bin/env bash
# The full test suite: formatting, vet, staticcheck, and every test with the
# race detector (fuzz seed corpora included). Installs what it needs through
# the Go module proxy; safe to run on a fresh machine and in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2

step() { printf '\n== %s\n' "$*"; }

step "go $(go env GOVERSION), modules"
go mod download
go mod verify

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "staticcheck ${STATICCHECK_VERSION}"
go run "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}" ./...

step "go test -race"
go test -race -count=1 ./... 2>&1 | tee /tmp/gmfield-test.$$.log
status=${PIPESTATUS[0]}
passed=$(grep -c '^ok ' /tmp/gmfield-test.$$.log || true)
failed=$(grep -c '^FAIL' /tmp/gmfield-test.$$.log || true)
rm -f /tmp/gmfield-test.$$.log
echo "packages: ${passed} passed, ${failed} failed"
exit "$status"
