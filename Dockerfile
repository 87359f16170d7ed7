# Build stage: dependencies into a virtualenv, static files collected and compressed.
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY requirements.txt /tmp/requirements.txt
RUN /venv/bin/pip install -r /tmp/requirements.txt
WORKDIR /app
COPY . .
# Settings refuse to load with DEBUG off and no SECRET_KEY or TICKET_SIGNING_KEY. These keys live
# only in this one command of the build stage: neither an ENV nor an ARG, and the runtime image
# never sees them.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-throwaway-build-key \
    TICKET_SIGNING_KEY=collectstatic-only-throwaway-build-key-0123 \
    PAYMENT_GATEWAY=payments.mock.gateway.MockGateway \
    /venv/bin/python manage.py collectstatic --noinput

# Runtime stage: the same virtualenv and code, owned by root and read-only for the app user.
FROM python:3.12-slim
# The git sha the image was built from, shown on the back office's System page.
ARG BUILD_VERSION=dev
ENV PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 BUILD_VERSION=$BUILD_VERSION
RUN groupadd --gid 10001 cinema \
    && useradd --uid 10001 --gid cinema --create-home --shell /usr/sbin/nologin cinema
COPY --from=build /venv /venv
COPY --from=build /app /app
# The one folder the app writes: uploaded posters (a named volume copies this ownership).
RUN mkdir -p /app/media && chown 10001:10001 /app/media
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# 127.0.0.1 must be in ALLOWED_HOSTS for this check; /health is exempt from the HTTPS redirect.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]
# WebSockets stay open (daphne would close them daily) with keepalive pings, as in
# config/devstack.py. Behind a proxy that sets X-Forwarded-For itself, add --proxy-headers.
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--websocket_timeout", "-1", \
     "--ping-interval", "20", "--ping-timeout", "30", "config.asgi:application"]
