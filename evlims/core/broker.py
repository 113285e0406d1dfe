"""The message broker as the code that sends Celery tasks sees it."""

from kombu.exceptions import OperationalError as BrokerOperationalError

# What sending a task raises when Redis cannot be reached.
BROKER_ERRORS = (BrokerOperationalError, ConnectionError, OSError)
