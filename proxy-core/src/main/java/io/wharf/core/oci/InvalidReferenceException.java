package io.wharf.core.oci;

/** A client-supplied name, tag or digest failed validation (400). */
public final class InvalidReferenceException extends RegistryException {
  public InvalidReferenceException(ErrorCode code, String message) {
    super(code, message);
  }
}
