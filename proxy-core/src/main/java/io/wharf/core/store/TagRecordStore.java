package io.wharf.core.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.MediaTypes.AcceptClass;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Durable tag records in {@code tags/}, one JSON file per (upstream, repository, tag, accept
 * class), named by the sha256 of that key so no name or tag string becomes a path. Blocking.
 */
public final class TagRecordStore {
  private static final Logger log = LoggerFactory.getLogger(TagRecordStore.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final DiskStore store;

  public TagRecordStore(DiskStore store) {
    this.store = store;
  }

  static String keyHex(String upstream, String repository, String tag, AcceptClass cls) {
    String key = upstream + "\n" + repository + "\n" + tag + "\n" + cls;
    return Digest.sha256Of(key.getBytes(StandardCharsets.UTF_8)).hex();
  }

  public Optional<TagRecord> read(
      String upstream, String repository, String tag, AcceptClass cls) {
    Path p = store.tagPath(keyHex(upstream, repository, tag, cls));
    try {
      TagRecord r = JSON.readValue(Files.readAllBytes(p), TagRecord.class);
      if (!r.upstream().equals(upstream)
          || !r.repository().equals(repository)
          || !r.tag().equals(tag)
          || r.acceptClass() != cls) {
        log.warn("tag record {} does not hold the key it is named for; ignoring it", p);
        return Optional.empty();
      }
      return Optional.of(r);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      log.warn("unreadable tag record {}: {}; ignoring it", p, e.toString());
      return Optional.empty();
    }
  }

  /**
   * Deletes the records of {@code tag} (every {@code Accept} class) of {@code repository}, or of
   * every tag of it when {@code tag} is null (a scan of all records). Returns how many went.
   */
  public int delete(String upstream, String repository, String tag) {
    int n = 0;
    try {
      if (tag != null) {
        for (AcceptClass cls : AcceptClass.values()) {
          n += deleteFile(store.tagPath(keyHex(upstream, repository, tag, cls))) ? 1 : 0;
        }
        return n;
      }
      Path root = store.root().resolve("tags");
      if (!Files.isDirectory(root)) {
        return 0;
      }
      java.util.List<Path> files;
      try (java.util.stream.Stream<Path> s = Files.walk(root, 2)) {
        files = s.filter(p -> p.getFileName().toString().endsWith(".json")).toList();
      }
      for (Path p : files) {
        TagRecord r;
        try {
          r = JSON.readValue(Files.readAllBytes(p), TagRecord.class);
        } catch (IOException e) {
          continue; // vanished or unreadable: read() ignores it too
        }
        if (r.upstream().equals(upstream) && r.repository().equals(repository)
            && p.equals(store.tagPath(keyHex(upstream, repository, r.tag(), r.acceptClass())))) {
          n += deleteFile(p) ? 1 : 0;
        }
      }
      return n;
    } catch (IOException e) {
      throw new StoreException("cannot delete tag records of " + repository + ": " + e, e);
    }
  }

  private static boolean deleteFile(Path p) throws IOException {
    if (Files.deleteIfExists(p)) {
      DiskStore.fsyncDir(p.getParent());
      return true;
    }
    return false;
  }

  public void write(TagRecord r) {
    Path p = store.tagPath(keyHex(r.upstream(), r.repository(), r.tag(), r.acceptClass()));
    try {
      Files.createDirectories(p.getParent());
      store.writeAtomically(p, JSON.writeValueAsBytes(r));
    } catch (IOException e) {
      throw new StoreException("cannot write tag record for " + r.repository() + ":" + r.tag(), e);
    }
  }
}
