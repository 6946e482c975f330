package io.wharf.core.manifest;

import io.wharf.core.oci.Digest;

/**
 * A manifest ready to serve: exact bytes, their media type and their digest. The bytes live on
 * the heap (never pooled memory) and are never modified.
 *
 * @param stale true when served from an expired tag record because the upstream failed
 */
public record Manifest(byte[] body, String mediaType, Digest digest, boolean stale) {
  public Manifest asStale() {
    return new Manifest(body, mediaType, digest, true);
  }
}
