"""Building blocks for HTTP provider plugins (public: third-party plugins use them too).

``HttpApi`` gives a plugin a pooled, bounded, typed-error connection to its
server; the decoders and error parsers are exposed on their own so a plugin
with an unusual transport can still speak the common dialects.
"""

from aegis_llm.http._api import HttpApi
from aegis_llm.http._decoders import NDJSONDecoder, SSEDecoder, SSEEvent, parse_json
from aegis_llm.http._errors import (
    ErrorBody,
    ErrorClassifier,
    classify_status,
    parse_error_body,
    parse_retry_after,
)
from aegis_llm.http._limits import HttpLimits

__all__ = [
    "ErrorBody",
    "ErrorClassifier",
    "HttpApi",
    "HttpLimits",
    "NDJSONDecoder",
    "SSEDecoder",
    "SSEEvent",
    "classify_status",
    "parse_error_body",
    "parse_json",
    "parse_retry_after",
]
