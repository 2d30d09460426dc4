# dfrps in a container, on the official Deno image, as the image's non-root
# user "deno". Not built in this repository's CI (no Docker engine there).
#
#   docker build -t dfrp .
#   docker run -d --name dfrps -p 7000:7000 -p 6000-6100:6000-6100 \
#     -v /etc/dfrp:/etc/dfrp:ro -v dfrps-state:/var/lib/dfrp -e DFRP_TOKEN=... dfrp
#   docker run -d --name dfrpc --network host -v /etc/dfrp:/etc/dfrp:ro \
#     -v dfrpc-state:/var/lib/dfrp -e DFRP_TOKEN=... --entrypoint dfrpc dfrp \
#     -c /etc/dfrp/frpc.toml --state-dir /var/lib/dfrp
#
# /var/lib/dfrp is the state folder (docs/auth.md, "Server identity"): the
# server's TLS certificate and key, made on first start, or the client's
# known_servers. Keep it in a volume so a new container keeps the identity.
#
# Ports below 1024 (vhostHTTPPort = 80) need a mapping such as -p 80:8080 with
# vhostHTTPPort = 8080 inside, since the server does not run as root.

FROM denoland/deno:2.9.6 AS build
WORKDIR /src
COPY deno.json deno.lock server.ts client.ts mod.ts ./
COPY lib/ lib/
COPY scripts/ scripts/
# One self-contained file per program, npm packages inlined, each starting
# with a "#!/usr/bin/env -S deno run <flags>" line holding its permissions.
RUN deno run --allow-run --allow-read --allow-write --allow-env scripts/bundle.ts /out

FROM denoland/deno:2.9.6
COPY --from=build /out/dfrps.js /usr/local/bin/dfrps
COPY --from=build /out/dfrpc.js /usr/local/bin/dfrpc
COPY packaging/frps.toml packaging/frpc.toml /etc/dfrp/
RUN install -d -o deno -g deno -m 0700 /var/lib/dfrp
VOLUME /var/lib/dfrp
USER deno
EXPOSE 7000
ENTRYPOINT ["dfrps"]
CMD ["-c", "/etc/dfrp/frps.toml", "--state-dir", "/var/lib/dfrp"]
