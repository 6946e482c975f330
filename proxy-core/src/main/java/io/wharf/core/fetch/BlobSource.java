package io.wharf.core.fetch;

import io.wharf.core.oci.Digest;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.BlobStream;
import io.wharf.core.upstream.RegistryClient;
import java.util.concurrent.CompletableFuture;

/**
 * Where a {@link BlobDownload} gets its bytes: the upstream registry itself, or (with peers) the
 * peer that owns the digest with the upstream as the last resort. A resume asks the source again
 * from the first byte not yet on disk; a source may answer it from somewhere else than the first
 * request, since a digest names the same bytes everywhere.
 */
public interface BlobSource {

  /** The upstream the blob belongs to: the {@code upstream} tag of fetch meters. */
  String upstream();

  /** How many times a broken download is resumed before it fails. */
  int retries();

  /** Whether the download stops when every client reading it has gone away. */
  boolean cancelWhenAbandoned();

  /**
   * GETs the blob from {@code offset}; completes when the headers are in, exceptionally with an
   * {@link io.wharf.core.upstream.UpstreamException} (or another {@link
   * io.wharf.core.oci.RegistryException}) when no source could answer.
   */
  CompletableFuture<BlobStream> getBlob(RepositoryName repo, Digest digest, long offset);

  /** The upstream registry itself, nothing in between. */
  static BlobSource of(RegistryClient client) {
    return new BlobSource() {
      @Override
      public String upstream() {
        return client.config().name();
      }

      @Override
      public int retries() {
        return client.config().retries();
      }

      @Override
      public boolean cancelWhenAbandoned() {
        return client.config().cancelWhenAbandoned();
      }

      @Override
      public CompletableFuture<BlobStream> getBlob(RepositoryName repo, Digest digest, long offset) {
        return client.getBlob(repo, digest, offset);
      }
    };
  }
}
