package io.wharf.core.upstream;

import io.wharf.core.oci.Digest;

/**
 * A manifest as the upstream sent it.
 *
 * @param body the exact bytes
 * @param mediaType the upstream's {@code Content-Type} (parameters stripped)
 * @param digest sha256 of {@code body}, computed by Wharf
 * @param upstreamDigest the upstream's {@code Docker-Content-Digest}, or null
 */
public record ManifestResponse(byte[] body, String mediaType, Digest digest, Digest upstreamDigest) {}
