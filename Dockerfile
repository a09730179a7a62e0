# Build: docker build -t huying .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY benches ./benches
COPY openapi.yaml ./
RUN cargo build --release --locked --bin huying

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 --home /app huying
WORKDIR /app
COPY --from=build /src/target/release/huying /usr/local/bin/huying
RUN mkdir -p /app/data && chown huying /app/data
USER huying
ENV HUYING_HOST=0.0.0.0 HUYING_PORT=8080 HUYING_DATA_DIR=/app/data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["huying"]
CMD ["serve"]
