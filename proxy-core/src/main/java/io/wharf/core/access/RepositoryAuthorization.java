package io.wharf.core.access;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.wharf.core.fetch.BlobReader;
import io.wharf.core.fetch.BlobService;
import io.wharf.core.manifest.Manifest;
import io.wharf.core.manifest.ManifestService;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.Reference;
import io.wharf.core.oci.RegistryException;
import io.wharf.core.store.RepositoryLinks;
import io.wharf.core.upstream.RegistryClient;
import io.wharf.core.upstream.UpstreamException;
import io.wharf.core.upstream.UpstreamRouter.Routed;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * The per-repository authorization step: cached content is served through repository R of
 * upstream U only if (U, R) links it (see {@link RepositoryLinks}), or after U has confirmed that
 * R holds it. Knowing a digest is not enough.
 *
 * <h2>Design</h2>
 *
 * <ul>
 *   <li><b>Links come from manifests.</b> A manifest served for R (by tag: U resolved R's tag to
 *       it; by digest: U served it through R, or it was already linked or confirmed) links its own
 *       digest and everything it references — child manifests of an index, config and layers of an
 *       image — to (U, R). A normal pull (tag → index → manifest → blobs) therefore never needs a
 *       confirmation, and a warm pull makes no upstream request at all.
 *   <li><b>Unlinked digests.</b> The content is obtained as usual; if this very request's upstream
 *       GET through R produced it (the fetch leader of a blob, the loader of a manifest), the
 *       upstream has just answered for R and the link is recorded. Otherwise (from memory, disk, or
 *       another repository's fetch in flight) a {@code HEAD} through R with Wharf's credentials
 *       decides: 2xx links it; 404 answers {@code BLOB_UNKNOWN}/{@code MANIFEST_UNKNOWN}; a
 *       repository the upstream refuses ({@code NAME_UNKNOWN} from the auth flow) answers {@code
 *       DENIED}; anything else (upstream down, rate limited) fails the request with the upstream's
 *       status. The cached bytes are never served without a yes.
 *   <li><b>Confirmations are single-flight and cached</b> per (U, R, digest): a probe by a thousand
 *       nodes costs one {@code HEAD}; a no is remembered for {@link #NEGATIVE_TTL}, a yes becomes a
 *       link. Transport failures are not cached.
 * </ul>
 *
 * <p>Threads: all methods return at once; futures complete on the disk executor or an upstream
 * client thread.
 */
public final class RepositoryAuthorization {
  /** How long an upstream "no" is remembered. */
  public static final Duration NEGATIVE_TTL = Duration.ofSeconds(30);
  private static final Duration POSITIVE_TTL = Duration.ofMinutes(10);
  private static final ObjectMapper JSON = new ObjectMapper();

  private enum Answer {
    YES,
    NOT_FOUND,
    DENIED
  }

  private record Key(String upstream, String repository, Digest digest, boolean manifest) {}

  private record Expanded(String upstream, String repository, Digest manifest) {}

  private final RepositoryLinks links;
  private final ManifestService manifests;
  private final BlobService blobs;
  private final WharfMeters meters;
  private final AsyncCache<Key, Answer> confirmations;
  /** Manifests whose references were linked since start (re-parsed once after a restart). */
  private final Cache<Expanded, Boolean> expanded;

  public RepositoryAuthorization(RepositoryLinks links, ManifestService manifests, BlobService blobs,
      WharfMeters meters, Executor executor, Ticker ticker) {
    this.links = links;
    this.manifests = manifests;
    this.blobs = blobs;
    this.meters = meters;
    this.confirmations = Caffeine.newBuilder()
        .executor(executor)
        .ticker(ticker)
        .maximumSize(100_000)
        // A yes also becomes a link; a no is remembered briefly. Reads do not extend either.
        .expireAfter(Expiry.<Key, Answer>writing(
            (k, v) -> v == Answer.YES ? POSITIVE_TTL : NEGATIVE_TTL))
        .buildAsync();
    this.expanded = Caffeine.newBuilder().executor(executor).maximumSize(100_000).build();
  }

  public RepositoryLinks links() {
    return links;
  }

  // ---- manifests ----

  /** The manifest {@code ref} names in {@code r}'s repository, if that repository may have it. */
  public CompletableFuture<Manifest> manifest(Routed r, Reference ref, String accept) {
    String upstream = r.upstream();
    String repo = r.repository().value();
    if (ref instanceof Reference.Tag) {
      // The tag record belongs to (U, R): the upstream named this digest for this repository.
      return manifests.get(r.client(), r.repository(), ref, accept)
          .thenApply(m -> linked(upstream, repo, m, "tag"));
    }
    Digest d = ((Reference.ByDigest) ref).digest();
    if (links.isLinked(upstream, repo, d)) {
      return manifests.get(r.client(), r.repository(), ref, accept)
          .thenApply(m -> linked(upstream, repo, m, "linked"));
    }
    return manifests.getByDigest(r.client(), r.repository(), d).thenCompose(f -> {
      if (f.fetchedForRepository()) {
        return CompletableFuture.completedFuture(linked(upstream, repo, f.manifest(), "fetched"));
      }
      return confirm(r, d, true).thenApply(v -> linked(upstream, repo, f.manifest(), "confirmed"));
    });
  }

  /** Links {@code m} and what it references to (U, R); returns {@code m}. */
  private Manifest linked(String upstream, String repo, Manifest m, String how) {
    meters.repositoryCheck("manifest", how);
    Expanded e = new Expanded(upstream, repo, m.digest());
    if (expanded.getIfPresent(e) == null || !links.isLinked(upstream, repo, m.digest())) {
      List<Digest> all = references(m.body());
      all.add(m.digest());
      links.link(upstream, repo, all);
      expanded.put(e, Boolean.TRUE);
    }
    return m;
  }

  /**
   * The digests a manifest references: {@code manifests[]} of an index, {@code config}, {@code
   * layers[]} and {@code blobs[]} of an image or artifact. Not {@code subject}: a referrer points
   * at another manifest without vouching that this repository holds it. Unparseable bodies
   * reference nothing.
   */
  static List<Digest> references(byte[] body) {
    List<Digest> out = new ArrayList<>();
    try {
      JsonNode root = JSON.readTree(body);
      if (root == null || !root.isObject()) {
        return out;
      }
      addDigest(out, root.get("config"));
      for (String field : new String[] {"manifests", "layers", "blobs"}) {
        JsonNode list = root.get(field);
        if (list != null && list.isArray()) {
          list.forEach(n -> addDigest(out, n));
        }
      }
    } catch (IOException e) {
      // Manifests were validated as JSON objects when fetched; nothing to link otherwise.
    }
    return out;
  }

  private static void addDigest(List<Digest> out, JsonNode descriptor) {
    if (descriptor == null || !descriptor.isObject()) {
      return;
    }
    JsonNode d = descriptor.get("digest");
    if (d != null && d.isTextual() && Digest.looksLikeDigest(d.asText())) {
      try {
        out.add(Digest.parse(d.asText()));
      } catch (RuntimeException e) {
        // An invalid descriptor digest links nothing.
      }
    }
  }

  // ---- blobs ----

  /** A reader for blob {@code d} through {@code r}'s repository, if that repository may have it. */
  public CompletableFuture<BlobReader> openBlob(Routed r, Digest d) {
    return openBlob(r, d, false);
  }

  /**
   * As {@link #openBlob(Routed, Digest)}; {@code upstreamOnly} for a peer's request, which is
   * never forwarded to another peer. The owner peer applies this same check for the asking
   * peer's repository, so a blob the asking peer fetched from its owner was authorized there.
   */
  public CompletableFuture<BlobReader> openBlob(Routed r, Digest d, boolean upstreamOnly) {
    String upstream = r.upstream();
    String repo = r.repository().value();
    if (links.isLinked(upstream, repo, d)) {
      meters.repositoryCheck("blob", "linked");
      return blobs.open(r.client(), r.repository(), d, upstreamOnly);
    }
    return blobs.open(r.client(), r.repository(), d, upstreamOnly).thenCompose(reader -> {
      boolean fetchedHere = reader.source() == BlobReader.Source.PASSTHROUGH
          || (reader.source() == BlobReader.Source.INFLIGHT && !reader.joined());
      if (fetchedHere) {
        meters.repositoryCheck("blob", "fetched");
        links.link(upstream, repo, List.of(d));
        return CompletableFuture.completedFuture(reader);
      }
      return confirm(r, d, false).handle((v, err) -> {
        if (err != null) {
          reader.close();
          throw err instanceof CompletionException ce ? ce : new CompletionException(err);
        }
        meters.repositoryCheck("blob", "confirmed");
        return reader;
      });
    });
  }

  /** The size of blob {@code d} (for HEAD) through {@code r}'s repository, if it may have it. */
  public CompletableFuture<Long> blobSize(Routed r, Digest d) {
    if (links.isLinked(r.upstream(), r.repository().value(), d)) {
      meters.repositoryCheck("blob", "linked");
      return blobs.size(r.client(), r.repository(), d);
    }
    return confirm(r, d, false).thenCompose(v -> {
      meters.repositoryCheck("blob", "confirmed");
      return blobs.size(r.client(), r.repository(), d);
    });
  }

  // ---- confirmation ----

  /**
   * Completes when the upstream says {@code r}'s repository holds {@code d} (and links it), or
   * fails with the error the client gets.
   */
  private CompletableFuture<Void> confirm(Routed r, Digest d, boolean manifest) {
    String upstream = r.upstream();
    String repo = r.repository().value();
    Key key = new Key(upstream, repo, d, manifest);
    return confirmations.get(key, (k, executor) -> ask(r.client(), r, d, manifest))
        .thenApply(answer -> {
          String what = (manifest ? "manifest " : "blob ") + repo + "@" + d;
          switch (answer) {
            case YES -> {
              links.link(upstream, repo, List.of(d));
              return null;
            }
            case NOT_FOUND -> {
              meters.repositoryCheck(manifest ? "manifest" : "blob", "not_found");
              throw new RegistryException(
                  manifest ? ErrorCode.MANIFEST_UNKNOWN : ErrorCode.BLOB_UNKNOWN, 404,
                  what + " not found on " + upstream
                      + " (a cached copy is served only to repositories that hold it)", null);
            }
            default -> {
              meters.repositoryCheck(manifest ? "manifest" : "blob", "denied");
              throw new RegistryException(ErrorCode.DENIED, 403,
                  what + ": " + upstream + " refuses access to that repository", null);
            }
          }
        });
  }

  private static CompletableFuture<Answer> ask(
      RegistryClient client, Routed r, Digest d, boolean manifest) {
    CompletableFuture<?> head = manifest
        ? client.headManifest(r.repository(), new Reference.ByDigest(d), null)
        : client.headBlob(r.repository(), d);
    return head.handle((ok, err) -> {
      if (err == null) {
        return Answer.YES;
      }
      Throwable t = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
      if (t instanceof UpstreamException ue) {
        if (ue.kind() == UpstreamException.Kind.NOT_FOUND) {
          return Answer.NOT_FOUND;
        }
        if (ue.kind() == UpstreamException.Kind.NAME_UNKNOWN) {
          return Answer.DENIED;
        }
      }
      throw t instanceof CompletionException ce ? ce : new CompletionException(t);
    });
  }
}
