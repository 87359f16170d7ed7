import json
import logging


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers; `request_id` ties a line to its audit events."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class RefusalsWithoutTraceback(logging.Filter):
    """A 4xx the request asked for (a customer at the staff pages' door, a missing page) is one
    warning line: Django logs the exception that answered it with its traceback, as it would a
    crash. Server errors keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
