# learnstream: the `learnstream` binary on a slim Debian. Build: docker build -t learnstream .
# rdkafka builds its bundled librdkafka from source, which needs a C toolchain and make (in the
# rust image already).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p learnstream-cli

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 learnstream
COPY --from=build /src/target/release/learnstream /usr/local/bin/learnstream
USER learnstream
ENV LEARNSTREAM_HTTP__LISTEN=0.0.0.0:8080 \
    LEARNSTREAM_LOG__FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["learnstream"]
CMD ["serve"]
