package io.wharf.core.store;

import io.wharf.core.oci.MediaTypes.AcceptClass;

/**
 * What a tag pointed to when Wharf last asked: the durable half of the tag cache, so a restarted
 * instance keeps serving tags while the upstream is down.
 *
 * @param upstream upstream name
 * @param repository repository as the upstream names it
 * @param tag the tag
 * @param acceptClass which class of {@code Accept} this answer is for
 * @param digest digest of the manifest the tag resolved to
 * @param mediaType that manifest's media type
 * @param fetchedAt epoch millis of the last confirmation from upstream
 */
public record TagRecord(
    String upstream,
    String repository,
    String tag,
    AcceptClass acceptClass,
    String digest,
    String mediaType,
    long fetchedAt) {

  public TagRecord confirmedAt(long millis) {
    return new TagRecord(upstream, repository, tag, acceptClass, digest, mediaType, millis);
  }
}
