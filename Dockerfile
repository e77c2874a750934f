# arangoscale: a static Go binary on distroless (CA certificates, no shell),
# running as a non-root user.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#                --build-arg COMMIT=$(git rev-parse HEAD) -t arangoscale/arangoscale:<version> .
#
# .ci/run builds the same binary the same way and checks it is static.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Dependencies first: this layer is cached until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ENV CGO_ENABLED=0
# -tags noplot leaves out simulate's PNG plots (gonum/plot parses twelve
# embedded fonts at start-up, ~4 MiB resident in `run` too); simulate in
# the image writes its tables and CSV and says so.
RUN go build -trimpath -tags noplot \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/arangoscale ./cmd/arangoscale

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="arangoscale" \
      org.opencontainers.image.description="Autoscaling controller for ArangoDB clusters on DC/OS" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.source="https://github.com/arangoscale/arangoscale"
COPY --from=build /out/arangoscale /usr/local/bin/arangoscale
# distroless "nonroot" is uid/gid 65532.
USER 65532:65532
EXPOSE 9100
ENTRYPOINT ["arangoscale"]
CMD ["run"]
