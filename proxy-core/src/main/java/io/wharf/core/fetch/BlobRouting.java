package io.wharf.core.fetch;

import io.wharf.core.oci.Digest;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.RegistryClient;

/**
 * Chooses where a blob that no local tier holds is fetched from, e.g. the peer that owns its
 * digest ({@link io.wharf.core.peer.Peers}). Without one, the upstream is asked directly.
 */
@FunctionalInterface
public interface BlobRouting {

  /** The source for a fetch of {@code digest} that {@code client}'s upstream would serve. */
  BlobSource sourceFor(RegistryClient client, RepositoryName repo, Digest digest);
}
