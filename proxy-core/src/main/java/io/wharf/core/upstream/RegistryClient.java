package io.wharf.core.upstream;

import io.wharf.core.config.UpstreamConfig;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.Reference;
import io.wharf.core.oci.RepositoryName;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * HTTP client for one upstream registry. Repository names given to it are already the upstream's
 * own (Docker Hub's {@code library/} added by the router). All methods are non-blocking and
 * complete exceptionally with {@link UpstreamException}.
 */
public final class RegistryClient implements AutoCloseable {

  public RegistryClient(UpstreamConfig config, Map<String, String> env, Executor executor, WharfMeters meters) {
    throw new UnsupportedOperationException("not yet");
  }

  public UpstreamConfig config() {
    throw new UnsupportedOperationException("not yet");
  }

  public CompletableFuture<ManifestResponse> getManifest(RepositoryName repo, Reference ref, String accept) {
    throw new UnsupportedOperationException("not yet");
  }

  public CompletableFuture<ManifestHead> headManifest(RepositoryName repo, Reference ref, String accept) {
    throw new UnsupportedOperationException("not yet");
  }

  public CompletableFuture<BlobHead> headBlob(RepositoryName repo, Digest digest) {
    throw new UnsupportedOperationException("not yet");
  }

  public CompletableFuture<BlobStream> getBlob(RepositoryName repo, Digest digest, long offset) {
    throw new UnsupportedOperationException("not yet");
  }

  public CompletableFuture<RawResponse> get(RepositoryName repo, String pathAfterName, String query, String accept) {
    throw new UnsupportedOperationException("not yet");
  }

  @Override
  public void close() {}
}
