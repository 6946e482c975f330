package io.wharf.core.store;

import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.RegistryException;

/** The local store failed (disk full, unwritable, corrupt layout); answered as 503. */
public class StoreException extends RegistryException {
  public StoreException(String message, Throwable cause) {
    super(ErrorCode.UNAVAILABLE, 503, message, cause);
  }

  /** A 503 that tells the client when to try again ({@code Retry-After}). */
  public StoreException(String message, Throwable cause, long retryAfterSeconds) {
    super(ErrorCode.UNAVAILABLE, 503, message, cause, retryAfterSeconds);
  }
}
