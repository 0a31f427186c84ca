# paramsecrets as a container: the cache server only (no dev backend, no test tools), run as a
# non-root user. A sidecar next to an application container, or a standalone daemon.
#
#   docker build -t paramsecrets .
#   docker run --rm -e AWS_REGION=eu-west-1 -e AWS_TOKEN=file:///run/secrets/paramsecrets-token \
#     -v "$PWD/token:/run/secrets/paramsecrets-token:ro" paramsecrets
#
# It listens on 127.0.0.1:2773 (and ::1), which is what a sidecar in a Kubernetes pod or an ECS task
# (awsvpc) shares with the application. To reach it from other containers on a Docker network, set
# PARAMETERS_SECRETS_EXTENSION_LISTEN_ADDRESS=0.0.0.0 and an explicit token of 16+ characters;
# docs/sidecar.md says why. SIGTERM (docker stop) stops it cleanly within about a second.

FROM python:3.12-slim AS build
RUN python -m venv /opt/paramsecrets
COPY pyproject.toml README.md /src/
COPY src /src/src
RUN /opt/paramsecrets/bin/pip install --no-cache-dir --disable-pip-version-check /src

FROM python:3.12-slim
COPY --from=build /opt/paramsecrets /opt/paramsecrets
# A fixed, unprivileged uid/gid with no home and no shell: nothing to log in as, nothing to own.
USER 65532:65532
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
EXPOSE 2773
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/opt/paramsecrets/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PARAMETERS_SECRETS_EXTENSION_HTTP_PORT', '2773') + '/ping', timeout=2)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/opt/paramsecrets/bin/paramsecrets", "serve"]
