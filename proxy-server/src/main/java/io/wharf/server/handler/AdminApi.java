package io.wharf.server.handler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wharf.core.fetch.BlobService;
import io.wharf.core.fetch.GrowingBlob;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.Reference;
import io.wharf.core.oci.RegistryException;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.prefetch.ImageRef;
import io.wharf.core.prefetch.Platform;
import io.wharf.core.prefetch.PrefetchJobs;
import io.wharf.core.store.DiskTier;
import io.wharf.core.store.MemoryBlobCache;
import io.wharf.core.store.Pins;
import io.wharf.core.store.TieredStore;
import io.wharf.core.upstream.RegistryClient;
import io.wharf.server.Services;
import io.wharf.server.http.OciErrors;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API under {@code /admin/}: prefetch jobs, pins, cache statistics, purges and garbage
 * collection. Maps (method, path, body) to a JSON answer; {@link AdminHandler} does the HTTP and
 * the token. Everything that touches the disk or walks an index runs on the disk executor.
 *
 * <pre>
 *   POST   /admin/prefetch                 {"images":[...],"platforms":[...],"pin":bool} → 202 {"id"}
 *   GET    /admin/prefetch/&lt;id&gt;            job state, blobs and bytes done/total, errors
 *   DELETE /admin/prefetch/&lt;id&gt;            cancel a running job → its state (409 if finished)
 *   GET    /admin/pins                     every pin
 *   POST   /admin/pins                     {"images":[...],"platforms":[...]} → 201 the pins
 *   DELETE /admin/pins/&lt;upstream&gt;/&lt;repo&gt;(:&lt;tag&gt;|@&lt;digest&gt;)
 *   GET    /admin/cache[?top=N]            tiers, in-flight fetches, top blobs by hits, pins
 *   DELETE /admin/cache/blobs/&lt;digest&gt;
 *   DELETE /admin/cache/tags/&lt;upstream&gt;/&lt;repo&gt;[:&lt;tag&gt;]
 *   POST   /admin/gc
 * </pre>
 */
public final class AdminApi {
  private static final Logger log = LoggerFactory.getLogger(AdminApi.class);
  static final ObjectMapper JSON = new ObjectMapper();
  /** Temp files untouched this long and owned by no fetch are orphans to {@code POST /admin/gc}. */
  public static final long GC_TEMP_GRACE_MILLIS = 3_600_000;
  private static final int MAX_IN_FLIGHT_LISTED = 100;
  private static final int DEFAULT_TOP = 20;
  private static final int MAX_TOP = 100;

  /** An answer: HTTP status and a JSON-serializable body. */
  public record Answer(int status, Object body, String allow) {
    static Answer ok(Object body) {
      return new Answer(200, body, null);
    }
  }

  /** A bad request or an unknown resource, answered with its status and message. */
  static final class AdminException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int status;
    final String allow;

    AdminException(int status, String message) {
      this(status, message, null);
    }

    AdminException(int status, String message, String allow) {
      super(message, null, false, false);
      this.status = status;
      this.allow = allow;
    }
  }

  private final Services services;
  private final PrefetchJobs jobs;

  public AdminApi(Services services, PrefetchJobs jobs) {
    this.services = services;
    this.jobs = jobs;
  }

  /** Handles one request; never throws (failures become answers). */
  public CompletableFuture<Answer> handle(String method, String uri, byte[] body) {
    CompletableFuture<Answer> f;
    try {
      f = route(method, uri, body);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    return f.exceptionally(t -> failure(method, uri, t));
  }

  static Answer failure(String method, String uri, Throwable t) {
    Throwable c = OciErrors.unwrap(t);
    if (c instanceof AdminException ae) {
      log.info("admin {} {} -> {}: {}", method, uri, ae.status, ae.getMessage());
      return new Answer(ae.status, error(ae.status, ae.getMessage()), ae.allow);
    }
    if (c instanceof IllegalArgumentException) {
      log.info("admin {} {} -> 400: {}", method, uri, c.getMessage());
      return new Answer(400, error(400, c.getMessage()), null);
    }
    if (c instanceof RegistryException) {
      OciErrors.Mapped m = OciErrors.mapAndLog(c, method, uri);
      return new Answer(m.status(), error(m.status(), m.message()), null);
    }
    log.error("admin {} {} failed: {}", method, uri, c.toString(), c);
    return new Answer(500, error(500, "internal error: " + c.getClass().getSimpleName()), null);
  }

  /** The error body: the OCI envelope, so one parser reads every Wharf error. */
  static Map<String, Object> error(int status, String message) {
    String code = switch (status) {
      case 400 -> "BAD_REQUEST";
      case 401 -> "UNAUTHORIZED";
      case 403 -> "DENIED";
      case 404 -> "NOT_FOUND";
      case 405 -> "METHOD_NOT_ALLOWED";
      case 409 -> "CONFLICT";
      default -> status >= 500 ? "UNAVAILABLE" : "ERROR";
    };
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("code", code);
    e.put("message", message);
    return Map.of("errors", List.of(e));
  }

  private CompletableFuture<Answer> route(String method, String uri, byte[] body) {
    int q = uri.indexOf('?');
    String path = q < 0 ? uri : uri.substring(0, q);
    String query = q < 0 ? "" : uri.substring(q + 1);
    if (path.indexOf('%') >= 0 || path.contains("//") || path.contains("/../")
        || path.endsWith("/..")) {
      throw new AdminException(400, "percent-encoded or dot segments are not allowed in admin paths");
    }
    if (path.equals("/admin/prefetch")) {
      allow(method, "POST");
      return CompletableFuture.completedFuture(prefetch(body));
    }
    if (path.startsWith("/admin/prefetch/")) {
      allow(method, "GET", "DELETE");
      String id = path.substring("/admin/prefetch/".length());
      PrefetchJobs.Job job = jobs.get(id)
          .orElseThrow(() -> new AdminException(404, "no prefetch job " + shorten(id)
              + " (finished jobs are kept " + PrefetchJobs.KEEP_FINISHED_MILLIS / 60_000
              + " minutes)"));
      if (method.equals("DELETE") && !job.cancel()) {
        throw new AdminException(409, "prefetch job " + shorten(id) + " has already finished ("
            + job.status().state() + ")");
      }
      return CompletableFuture.completedFuture(Answer.ok(job.status()));
    }
    if (path.equals("/admin/pins")) {
      allow(method, "GET", "POST");
      return method.equals("GET") ? blocking(this::listPins) : pin(body);
    }
    if (path.startsWith("/admin/pins/")) {
      allow(method, "DELETE");
      String id = path.substring("/admin/pins/".length());
      return blocking(() -> unpin(id));
    }
    if (path.equals("/admin/cache")) {
      allow(method, "GET");
      int top = topParam(query);
      return blocking(() -> cache(top));
    }
    if (path.startsWith("/admin/cache/blobs/")) {
      allow(method, "DELETE");
      Digest d = digestParam(path.substring("/admin/cache/blobs/".length()));
      return blocking(() -> purgeBlob(d));
    }
    if (path.startsWith("/admin/cache/tags/")) {
      allow(method, "DELETE");
      return purgeTags(path.substring("/admin/cache/tags/".length()));
    }
    if (path.equals("/admin/gc")) {
      allow(method, "POST");
      return blocking(this::gc);
    }
    throw new AdminException(404, "no such admin endpoint");
  }

  private static void allow(String method, String... allowed) {
    for (String a : allowed) {
      if (a.equals(method)) {
        return;
      }
    }
    String allow = String.join(", ", allowed);
    throw new AdminException(405, method + " is not allowed here (allowed: " + allow + ")", allow);
  }

  private CompletableFuture<Answer> blocking(java.util.function.Supplier<Answer> work) {
    return CompletableFuture.supplyAsync(work, services.diskExecutor());
  }

  // ---- prefetch and pins ----

  /** A parsed {@code {"images":[...],"platforms":[...],"pin":bool}}. */
  private record ImagesRequest(List<String> images, List<Platform> platforms, boolean pin) {}

  private ImagesRequest imagesRequest(byte[] body, boolean pinAllowed) {
    JsonNode j;
    try {
      j = JSON.readTree(body);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new AdminException(400, "the body is not JSON: " + e.getOriginalMessage());
    } catch (java.io.IOException e) {
      throw new AdminException(400, "the body is not JSON: " + e.getMessage());
    }
    if (j == null || !j.isObject()) {
      throw new AdminException(400, "the body must be a JSON object with an \"images\" array");
    }
    Set<String> known = pinAllowed ? Set.of("images", "platforms", "pin")
        : Set.of("images", "platforms");
    j.fieldNames().forEachRemaining(f -> {
      if (!known.contains(f)) {
        throw new AdminException(400, "unknown field \"" + shorten(f) + "\" (known: "
            + String.join(", ", known) + ")");
      }
    });
    List<String> images = strings(j.get("images"), "images");
    if (images.isEmpty()) {
      throw new AdminException(400, "\"images\" must list at least one image reference");
    }
    if (images.size() > PrefetchJobs.MAX_IMAGES) {
      throw new AdminException(400, "at most " + PrefetchJobs.MAX_IMAGES + " images per request");
    }
    for (String image : images) {
      ImageRef ref = ImageRef.parse(image);
      try {
        services.router().route(ref.registry(), ref.repository());
      } catch (RegistryException e) {
        throw new AdminException(400, image + ": " + e.getMessage());
      }
    }
    List<Platform> platforms = new ArrayList<>();
    if (j.has("platforms")) {
      for (String p : strings(j.get("platforms"), "platforms")) {
        platforms.add(Platform.parse(p));
      }
    }
    JsonNode pin = j.get("pin");
    if (pin != null && !pin.isBoolean()) {
      throw new AdminException(400, "\"pin\" must be true or false");
    }
    return new ImagesRequest(images, platforms, pin != null && pin.asBoolean());
  }

  private static List<String> strings(JsonNode n, String field) {
    if (n == null || !n.isArray()) {
      throw new AdminException(400, "\"" + field + "\" must be an array of strings");
    }
    List<String> out = new ArrayList<>();
    for (JsonNode e : n) {
      if (!e.isTextual()) {
        throw new AdminException(400, "\"" + field + "\" must be an array of strings");
      }
      out.add(e.asText());
    }
    return out;
  }

  private Answer prefetch(byte[] body) {
    ImagesRequest r = imagesRequest(body, true);
    PrefetchJobs.Job job;
    try {
      job = jobs.start(r.images(), r.platforms(), r.pin());
    } catch (IllegalStateException e) {
      throw new AdminException(503, e.getMessage());
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("id", job.id());
    out.put("status", "/admin/prefetch/" + job.id());
    return new Answer(202, out, null);
  }

  private CompletableFuture<Answer> pin(byte[] body) {
    ImagesRequest r = imagesRequest(body, false);
    return jobs.pin(r.images(), r.platforms())
        .thenApply(pins -> new Answer(201, Map.of("pins", pins), null));
  }

  private Answer listPins() {
    Pins pins = services.blobs().store().pins();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("pins", pins.list());
    out.put("digests", pins.digestCount());
    return Answer.ok(out);
  }

  private Answer unpin(String id) {
    if (!services.blobs().store().pins().remove(id)) {
      throw new AdminException(404, "no pin " + shorten(id)
          + " (ids look like <upstream>/<repository>:<tag> or ...@<digest>; GET /admin/pins lists them)");
    }
    log.info("admin: unpinned {}", id);
    return Answer.ok(Map.of("removed", id));
  }

  // ---- cache ----

  private static int topParam(String query) {
    String v = io.wharf.server.route.RouteParser.queryParam(query, "top");
    if (v == null) {
      return DEFAULT_TOP;
    }
    try {
      int n = Integer.parseInt(v);
      if (n >= 0 && n <= MAX_TOP) {
        return n;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw new AdminException(400, "top must be a number from 0 to " + MAX_TOP);
  }

  private static Digest digestParam(String text) {
    try {
      return Digest.parse(text);
    } catch (RuntimeException e) {
      throw new AdminException(400, "invalid digest '" + shorten(text) + "': " + e.getMessage());
    }
  }

  private Answer cache(int top) {
    BlobService blobs = services.blobs();
    TieredStore store = blobs.store();
    List<Map<String, Object>> tiers = new ArrayList<>();
    MemoryBlobCache memory = blobs.memory();
    if (memory != null) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", "memory");
      m.put("entries", memory.entries());
      m.put("bytes", memory.bytes());
      m.put("budgetBytes", memory.maxBytes());
      tiers.add(m);
    }
    for (DiskTier t : store.tiers()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", t.name());
      m.put("path", t.root().toString());
      m.put("entries", t.entryCount());
      m.put("bytes", t.usedBytes());
      m.put("reservedBytes", t.reservedBytes());
      m.put("budgetBytes", t.maxBytes() == Long.MAX_VALUE ? null : t.maxBytes());
      tiers.add(m);
    }
    List<Map<String, Object>> fetches = new ArrayList<>();
    var inFlight = blobs.inFlight().snapshot();
    for (GrowingBlob g : inFlight) {
      if (fetches.size() >= MAX_IN_FLIGHT_LISTED) {
        break;
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("digest", g.digest().toString());
      m.put("upstream", g.upstream());
      m.put("state", g.state().name().toLowerCase(java.util.Locale.ROOT));
      m.put("bytesOnDisk", g.written());
      m.put("length", g.length());
      m.put("readers", g.readers());
      fetches.add(m);
    }
    List<Map<String, Object>> topBlobs = new ArrayList<>();
    for (TieredStore.TopBlob b : store.topByHits(top)) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("digest", b.digest().toString());
      m.put("size", b.size());
      m.put("hits", b.hits());
      m.put("tier", b.tier());
      m.put("lastAccess", java.time.Instant.ofEpochMilli(b.lastAccessMillis()).toString());
      m.put("pinned", store.pins().contains(b.digest()));
      topBlobs.add(m);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("tiers", tiers);
    out.put("inFlight", Map.of("count", inFlight.size(), "fetches", fetches));
    out.put("topBlobs", topBlobs);
    out.put("pins", Map.of("images", store.pins().size(), "digests", store.pins().digestCount()));
    return Answer.ok(out);
  }

  private Answer purgeBlob(Digest d) {
    List<String> from = services.blobs().purge(d);
    boolean manifest = services.manifests().forgetManifest(d);
    if (from.isEmpty() && !manifest) {
      throw new AdminException(404, "blob " + d + " is not cached");
    }
    log.info("admin: purged {} from {}{}", d, from, manifest ? " and the manifest store" : "");
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("digest", d.toString());
    out.put("removedFrom", from);
    out.put("manifest", manifest);
    out.put("pinned", services.blobs().store().pins().contains(d));
    return Answer.ok(out);
  }

  private CompletableFuture<Answer> purgeTags(String rest) {
    int slash = rest.indexOf('/');
    if (slash <= 0) {
      throw new AdminException(400, "expected /admin/cache/tags/<upstream>/<repository>[:<tag>]");
    }
    String upstream = rest.substring(0, slash);
    RegistryClient client = services.router().clients().stream()
        .filter(c -> c.config().name().equals(upstream)).findFirst()
        .orElseThrow(() -> new AdminException(404, "no upstream named " + shorten(upstream)));
    String repoAndTag = rest.substring(slash + 1);
    String tag = null;
    int colon = repoAndTag.lastIndexOf(':');
    if (colon >= 0) {
      tag = new Reference.Tag(repoAndTag.substring(colon + 1)).value();
      repoAndTag = repoAndTag.substring(0, colon);
    }
    RepositoryName repo;
    try {
      repo = new RepositoryName(repoAndTag);
    } catch (RuntimeException e) {
      throw new AdminException(400, e.getMessage());
    }
    if (client.config().isDockerHub() && repo.components() == 1) {
      repo = repo.withPrefix("library");
    }
    String repository = repo.value();
    String t = tag;
    return blocking(() -> {
      int n = services.manifests().forgetTags(upstream, repository, t);
      log.info("admin: dropped {} tag records of {}/{}{}", n, upstream, repository,
          t == null ? " (all tags)" : ":" + t);
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("upstream", upstream);
      out.put("repository", repository);
      out.put("tag", t);
      out.put("recordsRemoved", n);
      return Answer.ok(out);
    });
  }

  private Answer gc() {
    long t0 = System.nanoTime();
    TieredStore store = services.blobs().store();
    TieredStore.TempSweep temps = store.removeOrphanedTemps(GC_TEMP_GRACE_MILLIS);
    Map<String, Integer> trimmed = store.trimOverBudget();
    int expired = store.sweepExpired();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("tempFilesRemoved", temps.files());
    out.put("tempBytesRemoved", temps.bytes());
    out.put("evictedOverBudget", trimmed);
    out.put("expired", expired);
    out.put("tookMillis", (System.nanoTime() - t0) / 1_000_000);
    log.info("admin: gc {}", out);
    return Answer.ok(out);
  }

  private static String shorten(String s) {
    String t = s.length() > 200 ? s.substring(0, 200) + "..." : s;
    return t.replaceAll("[^\\x20-\\x7e]", "?");
  }
}
