# The image compose.yaml builds: didvc with its PostgreSQL and Redis extras, and the examples.
FROM python:3.12-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir '.[postgresql,redis]' && useradd --system --no-create-home didvc
USER didvc
CMD ["didvc", "--help"]
