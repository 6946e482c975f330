package io.wharf.core.upstream;

import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.RegistryException;

/**
 * An upstream registry could not give what was asked. The {@link Kind} says why; the message says
 * what was being done and names the upstream ("fetch manifest library/nginx:1.27 from docker.io:
 * upstream answered 503"). Never carries credentials or tokens.
 */
public final class UpstreamException extends RegistryException {

  /** Why the upstream failed. */
  public enum Kind {
    /** A real 404 for the manifest or blob. */
    NOT_FOUND,
    /** The repository is denied even with a fresh token for its scope (Docker Hub's "no such repo"). */
    NAME_UNKNOWN,
    /** The configured credentials were rejected (token endpoint or Basic). */
    AUTH_FAILED,
    /** 429 from the upstream. */
    RATE_LIMITED,
    /** 5xx from the upstream. */
    SERVER_ERROR,
    /** No response headers in time, or a body stalled. */
    TIMEOUT,
    /** Connection refused, reset, DNS failure, TLS failure. */
    UNREACHABLE,
    /**
     * Wharf's own protection of the uplink refused the request: too many requests already waiting
     * for a connection slot, or the circuit breaker is open after repeated upstream failures.
     */
    OVERLOADED,
    /** An answer that makes no sense (bad JSON from the token endpoint, unexpected status, too many redirects). */
    BAD_RESPONSE
  }

  private final Kind kind;
  private final String upstream;

  public UpstreamException(
      Kind kind, String upstream, ErrorCode code, int status, String message, Throwable cause,
      long retryAfterSeconds) {
    super(code, status, message, cause, retryAfterSeconds);
    this.kind = kind;
    this.upstream = upstream;
  }

  public Kind kind() {
    return kind;
  }

  public String upstream() {
    return upstream;
  }

  /** True for failures that a retry (or serving stale content) may get past. */
  public boolean isTransient() {
    return switch (kind) {
      case RATE_LIMITED, SERVER_ERROR, TIMEOUT, UNREACHABLE, OVERLOADED -> true;
      default -> false;
    };
  }
}
