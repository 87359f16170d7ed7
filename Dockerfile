# Build: dependencies into a venv, static files collected. Run: daphne as a non-root user.
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY requirements.txt /tmp/requirements.txt
RUN /venv/bin/pip install -r /tmp/requirements.txt
WORKDIR /app
COPY . .
# collectstatic needs settings; this key exists only for this step and never reaches the image's
# environment.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-build-step-key /venv/bin/python manage.py collectstatic --noinput

FROM python:3.12-slim
ENV PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 cinema
COPY --from=build /venv /venv
COPY --from=build --chown=cinema:cinema /app /app
WORKDIR /app
USER cinema
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"
# Keep WebSockets open (no daily forced close) with keepalive pings, as config/devstack.py does.
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "--websocket_timeout", "-1", \
     "--ping-interval", "20", "--ping-timeout", "30", "config.asgi:application"]
