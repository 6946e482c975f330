package io.wharf.core.upstream;

import io.wharf.core.upstream.UpstreamException.Kind;

/**
 * An upstream failure inside the client, before it knows which operation it belongs to. {@link
 * RegistryClient} turns it into an {@link UpstreamException} whose message starts with the action
 * ("fetch manifest library/nginx:1.27 from docker.io: " + detail). The detail never holds secrets.
 */
final class UpstreamFailure extends RuntimeException {

  final Kind kind;
  /** The upstream's HTTP status, or 0 when there was no response. */
  final int upstreamStatus;

  final long retryAfterSeconds;

  UpstreamFailure(Kind kind, String detail, int upstreamStatus, long retryAfterSeconds, Throwable cause) {
    super(detail, cause, false, false);
    this.kind = kind;
    this.upstreamStatus = upstreamStatus;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  UpstreamFailure(Kind kind, String detail) {
    this(kind, detail, 0, -1, null);
  }

  /** The {@code result} tag value of {@code wharf.upstream.requests} for this failure. */
  String meterResult() {
    return meterResult(kind);
  }

  static String meterResult(Kind kind) {
    return switch (kind) {
      case NOT_FOUND -> "not_found";
      case NAME_UNKNOWN -> "denied";
      case AUTH_FAILED -> "auth_failed";
      case RATE_LIMITED -> "rate_limited";
      case SERVER_ERROR -> "server_error";
      case TIMEOUT -> "timeout";
      case UNREACHABLE -> "unreachable";
      case BAD_RESPONSE -> "bad_response";
      case OVERLOADED -> "overloaded";
    };
  }
}
