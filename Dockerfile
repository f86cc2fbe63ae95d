# syntax=docker/dockerfile:1
#
# kubeharden as a container: a static binary on distroless, running as the
# non-root user, with no shell and nothing to write outside the repository
# it is given.
#
#   docker build -t kubeharden .
#   docker run --rm --read-only -v "$PWD:/repo:ro" kubeharden lint .
#   docker run --rm --read-only -v "$PWD:/repo" kubeharden fix .     # writes fixes into the mount
#
# The image has no git: `lint --changed` and `github review` need one, so run
# those from a release binary or the GitHub Action instead.
#
# The build context keeps .git (see .dockerignore) so that the Go toolchain
# stamps the binary with the tag and revision that `kubeharden version`
# prints; with no .git in the context the version reads "(devel)".

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
# The context may belong to another user than the builder's root; let git
# read it anyway (for version stamping), without writing a git config file.
ENV CGO_ENABLED=0 \
    GOCACHE=/gocache \
    GOTOOLCHAIN=local \
    GOFLAGS=-mod=readonly \
    GIT_CONFIG_COUNT=1 \
    GIT_CONFIG_KEY_0=safe.directory \
    GIT_CONFIG_VALUE_0=*
RUN --mount=type=bind,source=go.mod,target=go.mod \
    --mount=type=bind,source=go.sum,target=go.sum \
    --mount=type=cache,target=/go/pkg/mod \
    go mod download
RUN --mount=type=bind,target=. \
    --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/gocache \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w" -o /out/kubeharden .

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="kubeharden" \
      org.opencontainers.image.description="GitOps manifest linter and auto-fixer for Kubernetes: renders Helm, Kustomize and plain manifests offline and fixes the sources" \
      org.opencontainers.image.source="https://github.com/kubeharden/kubeharden" \
      org.opencontainers.image.url="https://github.com/kubeharden/kubeharden" \
      org.opencontainers.image.documentation="https://github.com/kubeharden/kubeharden#readme" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/kubeharden /kubeharden
USER nonroot:nonroot
WORKDIR /repo
ENTRYPOINT ["/kubeharden"]
CMD ["lint", "."]
