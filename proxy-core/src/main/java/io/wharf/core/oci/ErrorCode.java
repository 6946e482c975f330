package io.wharf.core.oci;

/**
 * The error codes of the OCI distribution spec (and the Docker registry API it grew from), each
 * with the HTTP status Wharf answers with by default. This is the one registry of codes: the
 * server renders them as {@code {"errors":[{"code":...,"message":...}]}}.
 */
public enum ErrorCode {
  BLOB_UNKNOWN(404, "blob unknown to registry"),
  BLOB_UPLOAD_INVALID(400, "blob upload invalid"),
  BLOB_UPLOAD_UNKNOWN(404, "blob upload unknown to registry"),
  DIGEST_INVALID(400, "provided digest did not match uploaded content"),
  MANIFEST_BLOB_UNKNOWN(404, "manifest references a manifest or blob unknown to registry"),
  MANIFEST_INVALID(400, "manifest invalid"),
  MANIFEST_UNKNOWN(404, "manifest unknown to registry"),
  NAME_INVALID(400, "invalid repository name"),
  NAME_UNKNOWN(404, "repository name not known to registry"),
  PAGINATION_NUMBER_INVALID(400, "invalid number of results requested"),
  SIZE_INVALID(400, "provided length did not match content length"),
  UNAUTHORIZED(401, "authentication required"),
  DENIED(403, "requested access to the resource is denied"),
  UNSUPPORTED(405, "the operation is unsupported"),
  TOOMANYREQUESTS(429, "too many requests"),
  RANGE_INVALID(416, "requested range not satisfiable"),
  /** Wharf-side and upstream failures that are not the client's fault (502/503/504). */
  UNAVAILABLE(503, "service unavailable"),
  UNKNOWN(500, "unknown error");

  private final int status;
  private final String defaultMessage;

  ErrorCode(int status, String defaultMessage) {
    this.status = status;
    this.defaultMessage = defaultMessage;
  }

  public int status() {
    return status;
  }

  public String defaultMessage() {
    return defaultMessage;
  }
}
