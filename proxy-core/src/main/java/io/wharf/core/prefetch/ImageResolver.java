package io.wharf.core.prefetch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wharf.core.manifest.Manifest;
import io.wharf.core.manifest.ManifestService;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.MediaTypes;
import io.wharf.core.oci.Reference;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.RegistryClient;
import io.wharf.core.upstream.UpstreamRouter;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Resolves an image reference to every manifest and blob it needs, through the same routing and
 * {@link ManifestService} as client requests (so the manifests land in the cache as a pull would
 * leave them, tag records included). An index is followed into the manifests of the requested
 * platforms (all when none is given), nested indexes too; an image manifest contributes its
 * config and layers.
 */
public final class ImageResolver {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ACCEPT = MediaTypes.upstreamAccept(MediaTypes.AcceptClass.INDEX);
  private static final int MAX_DEPTH = 4;

  private final UpstreamRouter router;
  private final ManifestService manifests;

  public ImageResolver(UpstreamRouter router, ManifestService manifests) {
    this.router = router;
    this.manifests = manifests;
  }

  /** What an image consists of. */
  public static final class Resolved {
    private final ImageRef ref;
    private final UpstreamRouter.Routed routed;
    private Digest digest;
    private final Map<Digest, Long> manifestSizes = new LinkedHashMap<>();
    private final Map<Digest, Long> blobSizes = new LinkedHashMap<>();

    Resolved(ImageRef ref, UpstreamRouter.Routed routed) {
      this.ref = ref;
      this.routed = routed;
    }

    public ImageRef ref() {
      return ref;
    }

    public RegistryClient client() {
      return routed.client();
    }

    public String upstream() {
      return routed.upstream();
    }

    public RepositoryName repository() {
      return routed.repository();
    }

    /** Digest of the top manifest (the one the reference names). */
    public synchronized Digest digest() {
      return digest;
    }

    public synchronized Map<Digest, Long> manifests() {
      return new LinkedHashMap<>(manifestSizes);
    }

    /** Blob digests and their sizes from the manifests' descriptors (-1 when not given). */
    public synchronized Map<Digest, Long> blobs() {
      return new LinkedHashMap<>(blobSizes);
    }

    synchronized void manifest(Digest d, long size, boolean top) {
      manifestSizes.put(d, size);
      if (top) {
        digest = d;
      }
    }

    synchronized void blob(Digest d, long size) {
      blobSizes.putIfAbsent(d, size);
    }
  }

  /**
   * Resolves {@code text}. Fails with {@link IllegalArgumentException} for a malformed reference,
   * the upstream's error (not found, unavailable) otherwise.
   */
  public CompletableFuture<Resolved> resolve(String text, List<Platform> platforms) {
    Resolved r;
    try {
      ImageRef ref = ImageRef.parse(text);
      UpstreamRouter.Routed routed = router.route(ref.registry(), ref.repository());
      r = new Resolved(ref, routed);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return walk(r, r.ref().reference(), platforms, 0).thenApply(v -> r);
  }

  private CompletableFuture<Void> walk(
      Resolved r, Reference ref, List<Platform> platforms, int depth) {
    return manifests.get(r.client(), r.repository(), ref, ACCEPT).thenCompose(m -> {
      r.manifest(m.digest(), m.body().length, depth == 0);
      JsonNode j;
      try {
        j = JSON.readTree(m.body());
      } catch (IOException e) {
        return CompletableFuture.failedFuture(new IllegalStateException(
            "manifest " + m.digest() + " of " + r.ref() + " is not JSON: " + e.getMessage()));
      }
      if (j.has("manifests") || isIndex(m)) {
        if (depth >= MAX_DEPTH) {
          return CompletableFuture.failedFuture(new IllegalStateException(
              "indexes of " + r.ref() + " nest deeper than " + MAX_DEPTH));
        }
        List<CompletableFuture<Void>> children = new ArrayList<>();
        for (JsonNode child : j.path("manifests")) {
          if (!platforms.isEmpty() && !child.path("mediaType").asText().contains("index")
              && platforms.stream().noneMatch(p -> p.matches(child.get("platform")))) {
            continue;
          }
          Digest d = Digest.parse(child.path("digest").asText());
          children.add(walk(r, new Reference.ByDigest(d), platforms, depth + 1));
        }
        if (children.isEmpty() && depth == 0) {
          return CompletableFuture.failedFuture(new IllegalArgumentException(
              "image " + r.ref() + " has no manifest for " + (platforms.isEmpty() ? "any platform"
                  : "platform " + platforms.stream().map(Platform::toString).toList())));
        }
        return CompletableFuture.allOf(children.toArray(CompletableFuture[]::new));
      }
      descriptor(r, j.path("config"));
      for (JsonNode layer : j.path("layers")) {
        descriptor(r, layer);
      }
      for (JsonNode layer : j.path("fsLayers")) { // Docker schema 1
        r.blob(Digest.parse(layer.path("blobSum").asText()), -1);
      }
      return CompletableFuture.completedFuture(null);
    });
  }

  private static boolean isIndex(Manifest m) {
    return m.mediaType().equals(MediaTypes.OCI_INDEX)
        || m.mediaType().equals(MediaTypes.DOCKER_MANIFEST_LIST);
  }

  private static void descriptor(Resolved r, JsonNode desc) {
    if (desc.hasNonNull("digest")) {
      r.blob(Digest.parse(desc.get("digest").asText()), desc.path("size").asLong(-1));
    }
  }
}
