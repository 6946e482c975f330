package io.wharf.core.store;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.wharf.core.oci.Digest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Pinned images: the digests (manifests and blobs) that eviction and retention never remove.
 *
 * <p>Policy: a pinned blob <b>stays put</b> in the tier that holds it — it is never chosen as an
 * eviction victim in any tier (so never demoted either), never expired by retention, and not
 * promoted. Pinned bytes still count against their tier's budget: a tier full of pinned blobs
 * takes no new ones, and fetches spill to the next tier. An explicit purge ({@code DELETE
 * /admin/cache/blobs/<digest>}) still deletes a pinned blob; the pin stays, so the blob is pinned
 * again when it is next fetched.
 *
 * <p>Persistence: one small JSON file, {@code pins.json} in the first disk tier, rewritten on each
 * change with fsync, atomic rename and a directory fsync, and read before the tiers are indexed
 * (a smaller budget at restart never evicts a pinned blob). A file that cannot be read stops
 * start-up rather than silently dropping pins.
 *
 * <p>Thread-safety: {@link #contains} reads an immutable snapshot (it is called under tier index
 * locks); changes are serialized on this object and block on the disk (disk executor only).
 */
public final class Pins {
  static final String FILE = "pins.json";
  private static final int FORMAT_VERSION = 1;
  private static final ObjectMapper JSON =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  /**
   * One pinned image.
   *
   * @param id {@code <upstream>/<repository>:<tag>} or {@code <upstream>/<repository>@<digest>}
   * @param upstream upstream name
   * @param repository repository as the upstream names it
   * @param reference tag or digest as given when pinning
   * @param platforms platforms pinned ({@code os/arch[/variant]}); empty means all
   * @param digests every manifest and blob digest of the image (for those platforms)
   * @param bytes total size of those blobs and manifests
   * @param pinnedAt epoch millis
   */
  public record Pin(
      String id,
      String upstream,
      String repository,
      String reference,
      List<String> platforms,
      List<String> digests,
      long bytes,
      long pinnedAt) {

    public Pin {
      platforms = platforms == null ? List.of() : List.copyOf(platforms);
      digests = digests == null ? List.of() : List.copyOf(digests);
    }

    /** The id of an image reference: {@code up/repo:tag} or {@code up/repo@sha256:...}. */
    public static String idOf(String upstream, String repository, String reference) {
      return upstream + "/" + repository + (Digest.looksLikeDigest(reference) ? "@" : ":")
          + reference;
    }
  }

  private record PinsJson(int formatVersion, List<Pin> pins) {}

  private final Path file;
  private final Map<String, Pin> byId = new LinkedHashMap<>();
  private volatile Set<Digest> pinned = Set.of();
  private DiskStore store;

  private Pins(Path file) {
    this.file = file;
  }

  /** Reads {@code dir/pins.json} if present (before the store is opened). Blocking. */
  public static Pins load(Path dir) {
    Pins p = new Pins(dir.toAbsolutePath().normalize().resolve(FILE));
    try {
      PinsJson j = JSON.readValue(Files.readAllBytes(p.file), PinsJson.class);
      if (j.formatVersion() != FORMAT_VERSION) {
        throw new StoreException("pins file " + p.file + " has format version "
            + j.formatVersion() + "; this Wharf reads version " + FORMAT_VERSION, null);
      }
      if (j.pins() != null) {
        for (Pin pin : j.pins()) {
          p.byId.put(pin.id(), pin);
        }
      }
      p.rebuild();
    } catch (NoSuchFileException e) {
      // no pins yet
    } catch (IOException e) {
      throw new StoreException("cannot read pins file " + p.file + " (" + e.getMessage()
          + "); fix or remove it (removing it unpins every image)", e);
    }
    return p;
  }

  /** The store whose atomic writes persist changes (the first disk tier). */
  synchronized void attach(DiskStore primary) {
    this.store = primary;
  }

  /** True if any pin holds {@code d}. Lock-free. */
  public boolean contains(Digest d) {
    return pinned.contains(d);
  }

  /** Every pin, by id. */
  public synchronized List<Pin> list() {
    List<Pin> out = new ArrayList<>(byId.values());
    out.sort(Comparator.comparing(Pin::id));
    return out;
  }

  public synchronized Optional<Pin> get(String id) {
    return Optional.ofNullable(byId.get(id));
  }

  public synchronized int size() {
    return byId.size();
  }

  /** Distinct pinned digests. */
  public int digestCount() {
    return pinned.size();
  }

  /** Adds or replaces (same id: a tag that moved) a pin, durably. Blocking. */
  public synchronized void put(Pin pin) {
    Pin prior = byId.put(pin.id(), pin);
    try {
      persist();
    } catch (RuntimeException e) {
      if (prior == null) {
        byId.remove(pin.id());
      } else {
        byId.put(pin.id(), prior);
      }
      throw e;
    }
    rebuild();
  }

  /** Removes a pin, durably; false if there was none. Blocking. */
  public synchronized boolean remove(String id) {
    Pin prior = byId.remove(id);
    if (prior == null) {
      return false;
    }
    try {
      persist();
    } catch (RuntimeException e) {
      byId.put(id, prior);
      throw e;
    }
    rebuild();
    return true;
  }

  private void rebuild() {
    Set<Digest> s = new HashSet<>();
    for (Pin p : byId.values()) {
      for (String d : p.digests()) {
        s.add(Digest.parse(d));
      }
    }
    pinned = Set.copyOf(s);
  }

  private void persist() {
    if (store == null) {
      throw new IllegalStateException("pins are not attached to a store");
    }
    try {
      store.writeAtomically(file, JSON.writerWithDefaultPrettyPrinter()
          .writeValueAsBytes(new PinsJson(FORMAT_VERSION, new ArrayList<>(byId.values()))));
    } catch (IOException e) {
      throw new StoreException("cannot write pins file " + file + ": " + e, e);
    }
  }
}
