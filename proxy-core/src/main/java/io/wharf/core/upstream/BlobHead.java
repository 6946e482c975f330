package io.wharf.core.upstream;

/**
 * What an upstream {@code HEAD} of a blob said.
 *
 * @param size {@code Content-Length}, or -1 when unknown
 */
public record BlobHead(long size) {}
