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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * Resolves an image reference to every manifest and blob it needs, through the same routing and
 * {@link ManifestService} as client requests (so the manifests land in the cache as a pull would
 * leave them, tag records included). An index is followed into the manifests of the requested
 * platforms (all when none is given), nested indexes too; an image manifest contributes its
 * config and layers.
 *
 * <h2>Bounded work</h2>
 *
 * Indexes form a graph, not a tree: an index may list the same digest many times, and nested
 * indexes that each do so multiply the paths (four levels of 100 entries pointing at one digest
 * are 10^8 paths to a single image manifest). So the walk is breadth-first over distinct
 * digests: every manifest is fetched and parsed once per {@link Session} (one prefetch job or
 * pin request, shared by its images), each level starts only after the previous one is
 * expanded (a digest counts at the shallowest depth it appears, so the depth check does not
 * depend on timing), and one image may reach at most {@code maxManifests} manifests and
 * {@code maxBlobs} blobs; past that it fails with "image X references more than N manifests"
 * (or blobs). Indexes deeper than {@link #MAX_DEPTH} still fail. At most
 * {@link #FETCH_CONCURRENCY} manifest fetches of one session are in flight.
 *
 * <p>Threads: parsing and expanding run on the executor given (Wharf's small prefetch pool,
 * never the disk executor that serves client requests); manifest fetches take the ordinary
 * {@link ManifestService} path.
 */
public final class ImageResolver {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ACCEPT = MediaTypes.upstreamAccept(MediaTypes.AcceptClass.INDEX);
  private static final int MAX_DEPTH = 4;
  /** Distinct manifests one image may reach, at most. */
  public static final int MAX_MANIFESTS = 10_000;
  /** Distinct blobs one image may reach, at most. */
  public static final int MAX_BLOBS = 100_000;
  /** Manifest fetches of one session in flight at once. */
  static final int FETCH_CONCURRENCY = 8;

  private final UpstreamRouter router;
  private final ManifestService manifests;
  private final Executor executor;
  private final int maxManifests;
  private final int maxBlobs;

  public ImageResolver(UpstreamRouter router, ManifestService manifests, Executor executor) {
    this(router, manifests, executor, MAX_MANIFESTS, MAX_BLOBS);
  }

  ImageResolver(UpstreamRouter router, ManifestService manifests, Executor executor,
      int maxManifests, int maxBlobs) {
    this.router = router;
    this.manifests = manifests;
    this.executor = executor;
    this.maxManifests = maxManifests;
    this.maxBlobs = maxBlobs;
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

    /** Adds blobs; the number of distinct blobs now. */
    synchronized int blobs(Map<Digest, Long> more) {
      more.forEach(blobSizes::putIfAbsent);
      return blobSizes.size();
    }
  }

  /**
   * Resolves {@code text} in a session of its own. Fails with {@link IllegalArgumentException}
   * for a malformed reference, the upstream's error (not found, unavailable) otherwise.
   */
  public CompletableFuture<Resolved> resolve(String text, List<Platform> platforms) {
    return session(platforms).resolve(text);
  }

  /** A session: the images of one job, which share fetched and parsed manifests. */
  public Session session(List<Platform> platforms) {
    return new Session(List.copyOf(platforms));
  }

  /** A parsed manifest: its size, whether it is an index, the children to follow, its blobs. */
  private record Node(Digest digest, long size, boolean index, List<Digest> children,
      Map<Digest, Long> blobs) {}

  /** Images resolved together; each distinct manifest is fetched and parsed once. */
  public final class Session {
    private final List<Platform> platforms;
    private final Map<String, CompletableFuture<Node>> nodes = new ConcurrentHashMap<>();
    private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
    private int fetching;

    private Session(List<Platform> platforms) {
      this.platforms = platforms;
    }

    /**
     * Resolves {@code text}. Fails with {@link IllegalArgumentException} for a malformed
     * reference, {@link IllegalStateException} past the limits, the upstream's error otherwise.
     */
    public CompletableFuture<Resolved> resolve(String text) {
      Resolved r;
      try {
        ImageRef ref = ImageRef.parse(text);
        UpstreamRouter.Routed routed = router.route(ref.registry(), ref.repository());
        r = new Resolved(ref, routed);
      } catch (RuntimeException e) {
        return CompletableFuture.failedFuture(e);
      }
      // The top is fetched by its reference (a tag is not shared between images).
      return throttled(() -> manifests.get(r.client(), r.repository(), r.ref().reference(), ACCEPT))
          .thenApplyAsync(m -> {
            Node top = parse(r, m);
            nodes.putIfAbsent(key(r, top.digest()), CompletableFuture.completedFuture(top));
            r.manifest(top.digest(), top.size(), true);
            Set<Digest> seen = new HashSet<>();
            seen.add(top.digest());
            return expand(r, List.of(top), seen, 0);
          }, executor)
          .thenCompose(f -> f)
          .thenApply(v -> r);
    }

    /** Expands one level (all at {@code depth}), then fetches and expands the next. */
    private CompletableFuture<Void> expand(Resolved r, List<Node> level, Set<Digest> seen,
        int depth) {
      List<Digest> next = new ArrayList<>();
      for (Node n : level) {
        if (n.index()) {
          if (depth >= MAX_DEPTH) {
            return CompletableFuture.failedFuture(new IllegalStateException(
                "indexes of " + r.ref() + " nest deeper than " + MAX_DEPTH));
          }
          if (n.children().isEmpty() && depth == 0) {
            return CompletableFuture.failedFuture(new IllegalArgumentException(
                "image " + r.ref() + " has no manifest for " + (platforms.isEmpty()
                    ? "any platform"
                    : "platform " + platforms.stream().map(Platform::toString).toList())));
          }
          for (Digest d : n.children()) {
            if (seen.add(d)) {
              if (seen.size() > maxManifests) {
                return CompletableFuture.failedFuture(new IllegalStateException(
                    "image " + r.ref() + " references more than " + maxManifests + " manifests"));
              }
              next.add(d);
            }
          }
        } else if (r.blobs(n.blobs()) > maxBlobs) {
          return CompletableFuture.failedFuture(new IllegalStateException(
              "image " + r.ref() + " references more than " + maxBlobs + " blobs"));
        }
      }
      if (next.isEmpty()) {
        return CompletableFuture.completedFuture(null);
      }
      List<CompletableFuture<Node>> fetches = new ArrayList<>(next.size());
      for (Digest d : next) {
        fetches.add(node(r, d));
      }
      return CompletableFuture.allOf(fetches.toArray(CompletableFuture[]::new))
          .thenComposeAsync(v -> {
            List<Node> nodesOfLevel = new ArrayList<>(fetches.size());
            for (CompletableFuture<Node> f : fetches) {
              Node n = f.join();
              r.manifest(n.digest(), n.size(), false);
              nodesOfLevel.add(n);
            }
            return expand(r, nodesOfLevel, seen, depth + 1);
          }, executor);
    }

    /** The parsed manifest {@code d} of {@code r}'s repository, fetched once per session. */
    private CompletableFuture<Node> node(Resolved r, Digest d) {
      return nodes.computeIfAbsent(key(r, d), k ->
          throttled(() -> manifests.get(r.client(), r.repository(), new Reference.ByDigest(d),
              ACCEPT))
              .thenApplyAsync(m -> parse(r, m), executor));
    }

    private static String key(Resolved r, Digest d) {
      return r.upstream() + "/" + r.repository().value() + "@" + d;
    }

    private Node parse(Resolved r, Manifest m) {
      JsonNode j;
      try {
        j = JSON.readTree(m.body());
      } catch (IOException e) {
        throw new IllegalStateException(
            "manifest " + m.digest() + " of " + r.ref() + " is not JSON: " + e.getMessage());
      }
      if (j.has("manifests") || isIndex(m)) {
        Set<Digest> children = new LinkedHashSet<>();
        for (JsonNode child : j.path("manifests")) {
          if (!platforms.isEmpty() && !child.path("mediaType").asText().contains("index")
              && platforms.stream().noneMatch(p -> p.matches(child.get("platform")))) {
            continue;
          }
          children.add(Digest.parse(child.path("digest").asText()));
        }
        return new Node(m.digest(), m.body().length, true, List.copyOf(children), Map.of());
      }
      Map<Digest, Long> blobs = new LinkedHashMap<>();
      descriptor(blobs, j.path("config"));
      for (JsonNode layer : j.path("layers")) {
        descriptor(blobs, layer);
      }
      for (JsonNode layer : j.path("fsLayers")) { // Docker schema 1
        blobs.putIfAbsent(Digest.parse(layer.path("blobSum").asText()), -1L);
      }
      return new Node(m.digest(), m.body().length, false, List.of(), blobs);
    }

    /** Runs {@code fetch} when fewer than {@link #FETCH_CONCURRENCY} are in flight. */
    private <T> CompletableFuture<T> throttled(Supplier<CompletableFuture<T>> fetch) {
      CompletableFuture<T> out = new CompletableFuture<>();
      Runnable go = () -> {
        CompletableFuture<T> f;
        try {
          f = fetch.get();
        } catch (RuntimeException e) {
          f = CompletableFuture.failedFuture(e);
        }
        f.whenComplete((v, err) -> {
          release();
          if (err != null) {
            out.completeExceptionally(err);
          } else {
            out.complete(v);
          }
        });
      };
      boolean now;
      synchronized (this) {
        now = fetching < FETCH_CONCURRENCY;
        if (now) {
          fetching++;
        } else {
          waiting.add(go);
        }
      }
      if (now) {
        go.run();
      }
      return out;
    }

    private void release() {
      Runnable next;
      synchronized (this) {
        next = waiting.poll();
        if (next == null) {
          fetching--;
        }
      }
      if (next != null) {
        executor.execute(next);
      }
    }
  }

  private static boolean isIndex(Manifest m) {
    return m.mediaType().equals(MediaTypes.OCI_INDEX)
        || m.mediaType().equals(MediaTypes.DOCKER_MANIFEST_LIST);
  }

  private static void descriptor(Map<Digest, Long> blobs, JsonNode desc) {
    if (desc.hasNonNull("digest")) {
      blobs.putIfAbsent(Digest.parse(desc.get("digest").asText()), desc.path("size").asLong(-1));
    }
  }
}
