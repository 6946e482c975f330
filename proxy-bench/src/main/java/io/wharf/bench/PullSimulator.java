package io.wharf.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.MediaTypes;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.HdrHistogram.Histogram;

/**
 * N worker nodes pulling one image through a registry at the same moment, the way containerd
 * does: {@code HEAD} the tag, {@code GET} the manifest by the digest that answered, {@code GET}
 * the config, then the layers three at a time. Every body is hashed while it streams (memory stays
 * bounded whatever the layer size) and checked against its digest and size; a node whose bytes do
 * not verify counts as failed.
 *
 * <p>Reports per-node pull time percentiles (HdrHistogram), the time to first byte of the first
 * request for each layer (the "leader") against every later one ("followers"), wall time, bytes,
 * and — when given the synthetic registry's counters endpoint — how many times each blob was
 * fetched upstream.
 *
 * <p>All requests are asynchronous on a few shared JDK {@link HttpClient}s (HTTP/1.1, one
 * connection per request in flight), so N nodes cost sockets, not threads.
 */
public final class PullSimulator {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ACCEPT = String.join(", ", MediaTypes.OCI_MANIFEST,
      MediaTypes.OCI_INDEX, MediaTypes.DOCKER_MANIFEST, MediaTypes.DOCKER_MANIFEST_LIST);

  /**
   * What to pull, from where, by how many nodes. With one image every node pulls it; with several
   * ({@code repo:tag} each, most popular first) each node pulls one drawn from a Zipf
   * distribution with exponent {@code zipfS}, seeded with {@code seed}. With several registries
   * (instances of one cluster) node {@code i} pulls through {@code registries[i mod k]}, the way
   * a Service spreads a cluster's nodes over its endpoints.
   */
  public record Options(List<URI> registries, List<String> images, int nodes, int layerParallelism,
      Duration deadline, URI counters, int clients, double zipfS, long seed) {
    public Options {
      registries = List.copyOf(registries);
      if (registries.isEmpty()) {
        throw new IllegalArgumentException("no registry to pull from");
      }
      images = List.copyOf(images);
      if (images.isEmpty()) {
        throw new IllegalArgumentException("no image to pull");
      }
      for (String i : images) {
        if (i.lastIndexOf(':') <= 0) {
          throw new IllegalArgumentException("image must be repo:tag: " + i);
        }
      }
    }

    /** Every node pulls through the one {@code registry}. */
    public Options(URI registry, List<String> images, int nodes, int layerParallelism,
        Duration deadline, URI counters, int clients, double zipfS, long seed) {
      this(List.of(registry), images, nodes, layerParallelism, deadline, counters, clients, zipfS,
          seed);
    }

    /** The registry node {@code node} pulls through: round-robin over {@link #registries}. */
    public URI registryOf(int node) {
      return registries.get(Math.floorMod(node, registries.size()));
    }

    /** Every node pulls {@code repo:tag}. */
    public static Options single(URI registry, String repo, String tag, int nodes,
        int layerParallelism, Duration deadline, URI counters, int clients) {
      return new Options(registry, List.of(repo + ":" + tag), nodes, layerParallelism, deadline,
          counters, clients, 1.0, 0);
    }

    /** Index into {@link #images} of the image each node pulls. */
    public int[] assignment() {
      return images.size() == 1 ? new int[nodes] : new Zipf(images.size(), zipfS).sample(nodes, seed);
    }
  }

  /** One blob download by one node; nanoTime instants. */
  public record BlobFetch(int node, String digest, boolean layer, long start, long firstByte,
      long end, long bytes) {}

  /** One node's pull of {@code image}. */
  public record NodeResult(int node, String image, boolean ok, long pullNanos, String error) {}

  /**
   * Everything one run measured; {@code imageBlobs} are the digests of every blob of every image
   * pulled, {@code imageBytes} their sizes summed (one copy of what was pulled).
   */
  public record Result(Options options, List<NodeResult> nodes, List<BlobFetch> fetches,
      long wallNanos, long clientBytes, JsonNode counters, List<String> imageBlobs,
      long imageBytes) {

    public long ok() {
      return nodes.stream().filter(NodeResult::ok).count();
    }

    /** How many nodes pulled each image, most pulled first ({@code repo:tag=count}). */
    public String imageSpread() {
      Map<String, Long> n = new java.util.TreeMap<>();
      nodes.forEach(r -> n.merge(r.image(), 1L, Long::sum));
      StringBuilder sb = new StringBuilder();
      n.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
          .forEach(e -> sb.append(sb.length() == 0 ? "" : " ").append(e.getKey()).append('=')
              .append(e.getValue()));
      return sb.toString();
    }

    public long distinctImages() {
      return nodes.stream().map(NodeResult::image).distinct().count();
    }

    public long failed() {
      return nodes.size() - ok();
    }

    public Histogram pullMicros() {
      Histogram h = new Histogram(3_600_000_000L, 3);
      nodes.stream().filter(NodeResult::ok).forEach(n -> h.recordValue(Math.max(1, n.pullNanos() / 1000)));
      return h;
    }

    /** TTFB (µs) of the first request for each layer, and of every later request for it. */
    public Histogram[] leaderFollowerTtfbMicros() {
      Histogram leader = new Histogram(3_600_000_000L, 3);
      Histogram follower = new Histogram(3_600_000_000L, 3);
      Map<String, List<BlobFetch>> byDigest = new HashMap<>();
      fetches.stream().filter(f -> f.layer() && f.firstByte() > 0)
          .forEach(f -> byDigest.computeIfAbsent(f.digest(), k -> new ArrayList<>()).add(f));
      for (List<BlobFetch> l : byDigest.values()) {
        l.sort(Comparator.comparingLong(BlobFetch::start));
        for (int i = 0; i < l.size(); i++) {
          long us = Math.max(1, (l.get(i).firstByte() - l.get(i).start()) / 1000);
          (i == 0 ? leader : follower).recordValue(us);
        }
      }
      return new Histogram[] {leader, follower};
    }

    /** Upstream GETs of this image's blobs, summed, and the most for one blob (-1: unknown). */
    public long[] upstreamBlobGets() {
      if (counters == null) {
        return new long[] {-1, -1};
      }
      long sum = 0;
      long max = 0;
      for (String d : imageBlobs) {
        long g = counters.path("blobs").path(d).path("get").asLong(0);
        sum += g;
        max = Math.max(max, g);
      }
      return new long[] {sum, max};
    }

    /** Upstream GETs of this image's blobs that carried a {@code Range} (resumes); -1: unknown. */
    public long upstreamRangeGets() {
      return sumOverBlobs("range");
    }

    /** Upstream connections the synthetic registry cut off (fault mode); -1: unknown. */
    public long upstreamResets() {
      return sumOverBlobs("resets");
    }

    private long sumOverBlobs(String field) {
      if (counters == null) {
        return -1;
      }
      long sum = 0;
      for (String d : imageBlobs) {
        sum += counters.path("blobs").path(d).path(field).asLong(0);
      }
      return sum;
    }

    public long upstreamBytes() {
      return counters == null ? -1 : counters.path("bodyBytes").asLong();
    }

    public long upstreamManifestRequests() {
      if (counters == null) {
        return -1;
      }
      long n = 0;
      for (JsonNode m : counters.path("manifests")) {
        n += m.path("get").asLong() + m.path("head").asLong();
      }
      return n;
    }

    /** A few lines for a human. */
    public String summary() {
      Histogram p = pullMicros();
      Histogram[] t = leaderFollowerTtfbMicros();
      long[] gets = upstreamBlobGets();
      return String.format(Locale.ROOT,
          "%d nodes, %d ok, %d failed; wall %.2f s; pull p50 %.1f ms p90 %.1f ms p99 %.1f ms max %.1f ms%n"
              + "layer TTFB leader p50 %.1f ms, followers p50 %.1f ms p99 %.1f ms%n"
              + "client bytes %s; upstream blob GETs %d (max %d per blob, %d blobs), upstream body bytes %s, "
              + "upstream manifest requests %d",
          nodes.size(), ok(), failed(), wallNanos / 1e9, ms(p, 50), ms(p, 90), ms(p, 99),
          p.getMaxValue() / 1000.0, ms(t[0], 50), ms(t[1], 50), ms(t[1], 99),
          human(clientBytes), gets[0], gets[1], imageBlobs.size(), human(upstreamBytes()),
          upstreamManifestRequests())
          + (options.registries().size() > 1 ? String.format("%nnodes spread round-robin over %d registries",
              options.registries().size()) : "")
          + (distinctImages() > 1 ? String.format("%nimages pulled (nodes each): %s", imageSpread()) : "")
          + (failed() > 0 ? String.format("%nfirst failure: %s", nodes.stream()
              .filter(n -> !n.ok()).findFirst().map(NodeResult::error).orElse("")) : "");
    }
  }

  static double ms(Histogram h, double percentile) {
    return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1000.0;
  }

  static String human(long bytes) {
    if (bytes < 0) {
      return "n/a";
    }
    return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30))
        : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
  }

  // ---- the run ----

  private final Options o;
  private final List<HttpClient> clients = new ArrayList<>();
  private final ExecutorService executor;
  private final ConcurrentLinkedQueue<BlobFetch> fetches = new ConcurrentLinkedQueue<>();
  private final java.util.concurrent.atomic.AtomicLong clientBytes = new java.util.concurrent.atomic.AtomicLong();
  /** Each node's Bearer token, once an upstream behind a caching proxy asked for one. */
  private final AtomicReferenceArray<String> tokens;
  /** Digest → size of every blob of every image pulled. */
  private final Map<String, Long> imageBlobs = new java.util.concurrent.ConcurrentHashMap<>();

  private PullSimulator(Options o) {
    this.o = o;
    this.tokens = new AtomicReferenceArray<>(o.nodes());
    this.executor = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
        r -> {
          Thread t = new Thread(r, "pull-sim");
          t.setDaemon(true);
          return t;
        });
    for (int i = 0; i < Math.max(1, o.clients()); i++) {
      clients.add(HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(30)).executor(executor).build());
    }
  }

  /** Pulls the image on {@code o.nodes()} nodes at once and waits (at most the deadline). */
  public static Result run(Options o) throws InterruptedException {
    PullSimulator s = new PullSimulator(o);
    try {
      return s.go();
    } finally {
      s.executor.shutdownNow();
    }
  }

  /**
   * Gets the JVM past its cold start before the clock runs: SHA-256 compiled (with its
   * intrinsic) and every client's connection machinery used once. Otherwise the first seconds of
   * every run measure the simulator's interpreter, not the registry.
   */
  private void warmUp() {
    byte[] chunk = new byte[64 * 1024];
    MessageDigest sha = Hashing.newSha256();
    long until = System.nanoTime() + 2_000_000_000L;
    for (int i = 0; i < 4000 && System.nanoTime() < until; i++) {
      sha.update(chunk);
    }
    sha.digest();
    for (HttpClient c : clients) {
      for (URI registry : o.registries()) {
        try {
          c.send(HttpRequest.newBuilder(registry.resolve("/v2/")).timeout(Duration.ofSeconds(10))
              .build(), HttpResponse.BodyHandlers.discarding());
        } catch (IOException | InterruptedException e) {
          // the pull itself will report an unreachable registry
        }
      }
    }
  }

  private Result go() throws InterruptedException {
    warmUp();
    int n = o.nodes();
    int[] assignment = o.assignment();
    AtomicReferenceArray<NodeResult> results = new AtomicReferenceArray<>(n);
    CompletableFuture<Void> gate = new CompletableFuture<>();
    List<CompletableFuture<?>> all = new ArrayList<>(n);
    long[] t0 = new long[1];
    for (int i = 0; i < n; i++) {
      int node = i;
      String image = o.images().get(assignment[i]);
      HttpClient http = clients.get(i % clients.size());
      all.add(gate.thenCompose(v -> pull(node, image, http))
          .handle((v, err) -> {
            long took = System.nanoTime() - t0[0];
            results.set(node, err == null ? new NodeResult(node, image, true, took, null)
                : new NodeResult(node, image, false, took, describe(err)));
            return null;
          }));
    }
    t0[0] = System.nanoTime();
    gate.complete(null);
    long wall;
    try {
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
          .get(o.deadline().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      // Nodes still running count as failed: the run is bounded.
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e);
    }
    wall = System.nanoTime() - t0[0];
    List<NodeResult> nodes = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      NodeResult r = results.get(i);
      nodes.add(r != null ? r : new NodeResult(i, o.images().get(assignment[i]), false, wall,
          "not finished within the " + o.deadline().toSeconds() + " s deadline"));
    }
    JsonNode counters = null;
    if (o.counters() != null) {
      try {
        HttpResponse<String> c = clients.get(0).send(HttpRequest.newBuilder(o.counters())
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        counters = JSON.readTree(c.body());
      } catch (IOException e) {
        System.err.println("cannot read counters from " + o.counters() + ": " + e);
      }
    }
    return new Result(o, nodes, new ArrayList<>(fetches), wall, clientBytes.get(), counters,
        List.copyOf(imageBlobs.keySet()), imageBlobs.values().stream().mapToLong(Long::longValue).sum());
  }

  private static String describe(Throwable t) {
    while (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + ": " + t.getMessage();
  }

  private URI uri(int node, String repo, String path) {
    return o.registryOf(node).resolve("/v2/" + repo + path);
  }

  private CompletableFuture<Void> pull(int node, String image, HttpClient http) {
    int colon = image.lastIndexOf(':');
    String repo = image.substring(0, colon);
    String tag = image.substring(colon + 1);
    HttpRequest head = HttpRequest.newBuilder(uri(node, repo, "/manifests/" + tag))
        .method("HEAD", HttpRequest.BodyPublishers.noBody())
        .header("Accept", ACCEPT).timeout(Duration.ofSeconds(60)).build();
    return send(http, node, head, HttpResponse.BodyHandlers::discarding)
        .thenCompose(h -> {
          if (h.statusCode() != 200) {
            throw new IllegalStateException("HEAD manifest: " + h.statusCode());
          }
          String digest = h.headers().firstValue("Docker-Content-Digest").orElse(null);
          String ref = digest != null ? digest : tag;
          HttpRequest get = HttpRequest.newBuilder(uri(node, repo, "/manifests/" + ref))
              .header("Accept", ACCEPT).timeout(Duration.ofSeconds(60)).build();
          return send(http, node, get, HttpResponse.BodyHandlers::ofByteArray)
              .thenApply(r -> {
                if (r.statusCode() != 200) {
                  throw new IllegalStateException("GET manifest " + ref + ": " + r.statusCode());
                }
                if (digest != null && !Digest.sha256Of(r.body()).toString().equals(digest)) {
                  throw new IllegalStateException("manifest does not hash to " + digest);
                }
                clientBytes.addAndGet(r.body().length);
                return r.body();
              });
        })
        .thenCompose(manifest -> {
          JsonNode m;
          try {
            m = JSON.readTree(manifest);
          } catch (IOException e) {
            throw new IllegalStateException("manifest is not JSON", e);
          }
          JsonNode cfg = m.path("config");
          List<JsonNode> layers = new ArrayList<>();
          m.path("layers").forEach(layers::add);
          imageBlobs.put(cfg.path("digest").asText(), cfg.path("size").asLong());
          layers.forEach(l -> imageBlobs.put(l.path("digest").asText(), l.path("size").asLong()));
          return blob(node, http, repo, cfg.path("digest").asText(), cfg.path("size").asLong(), false)
              .thenCompose(v -> layers(node, http, repo, layers));
        });
  }

  /** Layers {@code layerParallelism} at a time, like containerd's default. */
  private CompletableFuture<Void> layers(int node, HttpClient http, String repo, List<JsonNode> layers) {
    AtomicInteger next = new AtomicInteger();
    List<CompletableFuture<Void>> lanes = new ArrayList<>();
    for (int i = 0; i < Math.min(o.layerParallelism(), layers.size()); i++) {
      lanes.add(lane(node, http, repo, layers, next));
    }
    return CompletableFuture.allOf(lanes.toArray(CompletableFuture[]::new));
  }

  private CompletableFuture<Void> lane(int node, HttpClient http, String repo, List<JsonNode> layers,
      AtomicInteger next) {
    int i = next.getAndIncrement();
    if (i >= layers.size()) {
      return CompletableFuture.completedFuture(null);
    }
    JsonNode l = layers.get(i);
    return blob(node, http, repo, l.path("digest").asText(), l.path("size").asLong(), true)
        .thenCompose(v -> lane(node, http, repo, layers, next));
  }

  private CompletableFuture<Void> blob(int node, HttpClient http, String repo, String digest,
      long size, boolean layer) {
    HttpRequest get = HttpRequest.newBuilder(uri(node, repo, "/blobs/" + digest))
        .timeout(Duration.ofSeconds(120)).build();
    long start = System.nanoTime();
    java.util.concurrent.atomic.AtomicReference<Hashing> last = new java.util.concurrent.atomic.AtomicReference<>();
    return send(http, node, get, () -> info -> {
      Hashing h = new Hashing();
      if (info.statusCode() != 200) {
        h.status = info.statusCode();
      }
      last.set(h);
      return h;
    }).thenApply(r -> {
      Hashing hashing = last.get();
      if (hashing.status != 0) {
        throw new IllegalStateException("GET blob " + digest + ": " + hashing.status);
      }
      String actual = "sha256:" + HexFormat.of().formatHex(hashing.sha.digest());
      if (!actual.equals(digest) || hashing.bytes != size) {
        throw new IllegalStateException("blob " + digest + " did not verify: " + hashing.bytes
            + " bytes hashing to " + actual + " (expected " + size + " bytes)");
      }
      clientBytes.addAndGet(hashing.bytes);
      fetches.add(new BlobFetch(node, digest, layer, start, hashing.firstByte, System.nanoTime(),
          hashing.bytes));
      return null;
    });
  }

  /**
   * Sends {@code req} with the node's token, if it has one; on a {@code 401} with a Bearer
   * challenge fetches an anonymous token from the challenge's realm (as containerd does against
   * Docker Hub), keeps it for the node and sends once more. Proxies that authenticate upstream
   * themselves never answer 401, so this costs them nothing.
   */
  private <T> CompletableFuture<HttpResponse<T>> send(HttpClient http, int node, HttpRequest req,
      java.util.function.Supplier<HttpResponse.BodyHandler<T>> handler) {
    String token = tokens.get(node);
    HttpRequest first = token == null ? req
        : HttpRequest.newBuilder(req, (k, v) -> true).setHeader("Authorization", "Bearer " + token).build();
    return http.sendAsync(first, handler.get()).thenCompose(r -> {
      String challenge = r.headers().firstValue("WWW-Authenticate").orElse("");
      if (r.statusCode() != 401 || !challenge.regionMatches(true, 0, "Bearer ", 0, 7)) {
        return CompletableFuture.completedFuture(r);
      }
      return fetchToken(http, challenge).thenCompose(t -> {
        tokens.set(node, t);
        return http.sendAsync(HttpRequest.newBuilder(req, (k, v) -> true)
            .setHeader("Authorization", "Bearer " + t).build(), handler.get());
      });
    });
  }

  /** {@code GET realm?service=..&scope=..} of a Bearer challenge; the token from its JSON. */
  static CompletableFuture<String> fetchToken(HttpClient http, String challenge) {
    Map<String, String> p = challengeParams(challenge);
    StringBuilder q = new StringBuilder(p.getOrDefault("realm", ""));
    char sep = q.indexOf("?") < 0 ? '?' : '&';
    for (String k : List.of("service", "scope")) {
      if (p.containsKey(k)) {
        q.append(sep).append(k).append('=')
            .append(java.net.URLEncoder.encode(p.get(k), StandardCharsets.UTF_8));
        sep = '&';
      }
    }
    return http.sendAsync(HttpRequest.newBuilder(URI.create(q.toString()))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofByteArray())
        .thenApply(r -> {
          if (r.statusCode() != 200) {
            throw new IllegalStateException("GET token " + q + ": " + r.statusCode());
          }
          try {
            JsonNode j = JSON.readTree(r.body());
            String t = j.path("token").asText(j.path("access_token").asText(""));
            if (t.isEmpty()) {
              throw new IllegalStateException("no token in the answer of " + q);
            }
            return t;
          } catch (IOException e) {
            throw new IllegalStateException("token answer of " + q + " is not JSON", e);
          }
        });
  }

  /** {@code name="value"} parameters of a challenge, names lower-cased. */
  static Map<String, String> challengeParams(String challenge) {
    Map<String, String> out = new HashMap<>();
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("([A-Za-z_]+)=(?:\"([^\"]*)\"|([^,\\s]*))").matcher(challenge);
    while (m.find()) {
      out.put(m.group(1).toLowerCase(Locale.ROOT), m.group(2) != null ? m.group(2) : m.group(3));
    }
    return out;
  }

  /** Hashes a body as it arrives; asks for the next buffer only after the last is hashed. */
  static final class Hashing implements HttpResponse.BodySubscriber<Long> {
    final MessageDigest sha = newSha256();
    final CompletableFuture<Long> done = new CompletableFuture<>();
    volatile int status;
    long bytes;
    long firstByte;
    private Flow.Subscription subscription;

    @Override
    public CompletionStage<Long> getBody() {
      return done;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      s.request(1);
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
      for (ByteBuffer b : buffers) {
        int n = b.remaining();
        if (n > 0 && firstByte == 0) {
          firstByte = System.nanoTime();
        }
        if (status == 0) {
          sha.update(b);
        }
        bytes += n;
      }
      subscription.request(1);
    }

    @Override
    public void onError(Throwable t) {
      done.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
      done.complete(bytes);
    }

    private static MessageDigest newSha256() {
      try {
        return MessageDigest.getInstance("SHA-256");
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  // ---- command line ----

  /** Columns of the results file, one line per run. */
  public static final String TSV_HEADER = String.join("\t", "target", "scenario", "nodes", "ok",
      "failed", "wall_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms", "leader_ttfb_ms",
      "follower_ttfb_p50_ms", "follower_ttfb_p99_ms", "client_bytes", "upstream_blob_gets",
      "max_gets_per_blob", "image_blobs", "upstream_bytes", "upstream_manifest_requests",
      "first_error", "images", "image_bytes", "upstream_range_gets", "upstream_resets");

  public static String tsv(String target, String scenario, Result r) {
    Histogram p = r.pullMicros();
    Histogram[] t = r.leaderFollowerTtfbMicros();
    long[] gets = r.upstreamBlobGets();
    String err = r.nodes().stream().filter(n -> !n.ok()).findFirst().map(NodeResult::error)
        .orElse("").replaceAll("[\\t\\n\\r]", " ");
    return String.join("\t", target, scenario, Integer.toString(r.nodes().size()),
        Long.toString(r.ok()), Long.toString(r.failed()), f(r.wallNanos() / 1e6), f(ms(p, 50)),
        f(ms(p, 90)), f(ms(p, 99)), f(p.getMaxValue() / 1000.0), f(ms(t[0], 50)), f(ms(t[1], 50)),
        f(ms(t[1], 99)), Long.toString(r.clientBytes()), Long.toString(gets[0]),
        Long.toString(gets[1]), Integer.toString(r.imageBlobs().size()),
        Long.toString(r.upstreamBytes()), Long.toString(r.upstreamManifestRequests()),
        err.length() > 200 ? err.substring(0, 200) : err, Long.toString(r.distinctImages()),
        Long.toString(r.imageBytes()), Long.toString(r.upstreamRangeGets()),
        Long.toString(r.upstreamResets()));
  }

  private static String f(double v) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.1f", v);
  }

  /**
   * {@code PullSimulator --registry http://127.0.0.1:5000[,http://127.0.0.1:5002] [--registry ...]
   * --image bench/app:v1 [--image ...]
   * --nodes 100 [--zipf-s 1.0 --seed 42] [--parallel 3] [--deadline-s 300] [--counters
   * http://127.0.0.1:5100/_bench/counters] [--clients 4] [--target wharf --scenario cold-100
   * --results results.tsv]}. With several {@code --image}s (most popular first) each node pulls
   * one drawn from a Zipf distribution. With several registries (repeated {@code --registry}, or
   * a comma-separated list) node {@code i} pulls through registry {@code i mod k}. Exit status 0 when every node verified every blob, 1
   * otherwise.
   */
  /** Every {@code --registry} value, each possibly a comma-separated list, in order. */
  static List<URI> registries(List<String> values) {
    List<URI> out = new ArrayList<>();
    for (String v : values) {
      for (String u : v.split(",")) {
        if (!u.isBlank()) {
          out.add(URI.create(u.strip()));
        }
      }
    }
    return out;
  }

  public static void main(String[] args) throws Exception {
    Map<String, List<String>> a = Args.parse(args);
    List<String> images = a.getOrDefault("image", List.of("bench/app:v1"));
    String counters = Args.one(a, "counters", null);
    Options o = new Options(registries(a.getOrDefault("registry", List.of("http://127.0.0.1:5000"))), images,
        Integer.parseInt(Args.one(a, "nodes", "10")), Integer.parseInt(Args.one(a, "parallel", "3")),
        Duration.ofSeconds(Long.parseLong(Args.one(a, "deadline-s", "300"))),
        counters == null ? null : URI.create(counters), Integer.parseInt(Args.one(a, "clients", "4")),
        Double.parseDouble(Args.one(a, "zipf-s", "1.0")), Long.parseLong(Args.one(a, "seed", "42")));
    Result r = run(o);
    String target = Args.one(a, "target", "target");
    String scenario = Args.one(a, "scenario", "pull");
    System.out.println("[" + target + " / " + scenario + "] " + r.summary());
    String results = Args.one(a, "results", null);
    if (results != null) {
      Path p = Path.of(results);
      String line = tsv(target, scenario, r) + "\n";
      if (!Files.exists(p)) {
        line = TSV_HEADER + "\n" + line;
      }
      Files.writeString(p, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    }
    System.exit(r.failed() == 0 ? 0 : 1);
  }
}
