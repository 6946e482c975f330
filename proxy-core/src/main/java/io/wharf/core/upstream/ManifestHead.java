package io.wharf.core.upstream;

import io.wharf.core.oci.Digest;

/**
 * What an upstream {@code HEAD} of a manifest said.
 *
 * @param digest {@code Docker-Content-Digest}, or null when the upstream did not send it
 * @param mediaType {@code Content-Type} (parameters stripped), or null
 * @param size {@code Content-Length}, or -1
 */
public record ManifestHead(Digest digest, String mediaType, long size) {}
