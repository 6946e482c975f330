package io.wharf.core.oci;

/**
 * Base of Wharf's typed failures: an OCI {@link ErrorCode}, the HTTP status to answer with, and a
 * message that says what was being done ("fetch manifest library/nginx:1.27 from docker.io").
 * Messages never contain credentials or tokens.
 */
public class RegistryException extends RuntimeException {

  private final ErrorCode code;
  private final int status;
  private final long retryAfterSeconds;

  public RegistryException(ErrorCode code, String message) {
    this(code, code.status(), message, null);
  }

  public RegistryException(ErrorCode code, int status, String message, Throwable cause) {
    this(code, status, message, cause, -1);
  }

  public RegistryException(
      ErrorCode code, int status, String message, Throwable cause, long retryAfterSeconds) {
    super(message, cause);
    this.code = code;
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  public ErrorCode code() {
    return code;
  }

  public int status() {
    return status;
  }

  /** Seconds for a {@code Retry-After} header, or -1 when none applies. */
  public long retryAfterSeconds() {
    return retryAfterSeconds;
  }
}
