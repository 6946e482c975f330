package io.wharf.server.cli;

import io.wharf.core.config.ConfigException;
import io.wharf.core.config.StorageConfig;
import io.wharf.core.config.TierConfig;
import io.wharf.core.config.WharfConfig;
import io.wharf.core.store.StoreCheck;
import io.wharf.core.store.StoreException;
import io.wharf.core.store.StoreLockedException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code wharf fsck}: re-hash every blob of every disk tier, offline (see {@link StoreCheck}).
 * The report goes to stdout, progress to stderr.
 */
@Command(
    name = "fsck",
    mixinStandardHelpOptions = true,
    description = {
      "Check the store offline: re-hash every blob in every disk tier and compare it with its"
          + " name. Takes the store's lock, so it refuses to run while Wharf uses the store.",
      "Without --repair nothing is changed. With --repair, files whose content or name is wrong"
          + " are moved to quarantine/<time>/ in their tier (never deleted) and leftover temp"
          + " files are removed.",
      "Exit status: 0 no corruption, 1 corruption found (quarantined with --repair),"
          + " 2 invalid configuration or arguments, 3 the store is in use or cannot be read."
    })
final class FsckCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = {"-c", "--config"}, paramLabel = "FILE",
      description = "Check the disk tiers of this Wharf configuration.")
  Path config;

  @Option(names = "--store", paramLabel = "DIR",
      description = "Check this store directory (repeat for several tiers, fastest first)."
          + " Default without --config: ./wharf-data.")
  List<Path> stores;

  @Option(names = "--repair",
      description = "Quarantine bad files and remove leftover temp files.")
  boolean repair;

  @Option(names = "--progress", paramLabel = "SECONDS", defaultValue = "5",
      description = "Seconds between progress lines on stderr (default ${DEFAULT-VALUE};"
          + " 0: after every file).")
  double progressSeconds;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    List<Path> roots;
    try {
      roots = roots();
    } catch (ConfigException e) {
      err.println("wharf fsck: " + e.getMessage());
      err.flush();
      return 2;
    }
    StoreCheck.Report report;
    try {
      report = StoreCheck.check(roots, repair, new ProgressLines(err, (long) (progressSeconds * 1e9)));
    } catch (StoreLockedException e) {
      err.println("wharf fsck: refusing to check while the store is in use: " + e.getMessage()
          + ". Stop Wharf first.");
      err.flush();
      return 3;
    } catch (StoreException e) {
      err.println("wharf fsck: " + e.getMessage());
      err.flush();
      return 3;
    }
    print(report, out);
    out.flush();
    err.flush();
    return report.corrupt() > 0 ? 1 : 0;
  }

  private List<Path> roots() {
    if (config != null && stores != null) {
      throw new ConfigException("give --config or --store, not both");
    }
    if (stores != null) {
      return stores;
    }
    StorageConfig storage =
        config == null ? StorageConfig.defaults() : WharfConfig.load(config).storage();
    return storage.diskTiers().stream().map(TierConfig::path).map(Path::of).toList();
  }

  private void print(StoreCheck.Report r, PrintWriter out) {
    for (StoreCheck.TierReport t : r.tiers()) {
      out.printf(Locale.ROOT, "%s %s: %d blobs, %s checked; %d content mismatches, %d bad files;"
              + " %d quarantined; %d temp files%s%n",
          t.tier(), t.root(), t.files(), bytes(t.bytes()), t.mismatches().size(),
          t.badFiles().size(), t.quarantined(), t.tempFiles(),
          t.tempFiles() == 0 ? "" : repair ? " (" + t.tempFilesRemoved() + " removed)"
              : " (left in place: no --repair)");
      for (StoreCheck.Problem p : concat(t.mismatches(), t.badFiles())) {
        out.printf(Locale.ROOT, "  %s %s: %s%n",
            p.quarantinedTo() != null ? "QUARANTINED" : "BAD", t.root().relativize(p.file()),
            p.reason() + (p.quarantinedTo() != null
                ? "; moved to " + t.root().relativize(p.quarantinedTo()) : ""));
      }
    }
    out.printf(Locale.ROOT, "checked %d blobs, %s in %.1f s: %s%n", r.files(), bytes(r.bytes()),
        r.nanos() / 1e9,
        r.corrupt() == 0 ? "no corruption"
            : r.corrupt() + " corrupt files, " + r.quarantined() + " quarantined"
                + (repair ? "" : " (run with --repair to quarantine them)"));
  }

  private static List<StoreCheck.Problem> concat(
      List<StoreCheck.Problem> a, List<StoreCheck.Problem> b) {
    return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
  }

  static String bytes(long n) {
    if (n < 1024) {
      return n + " bytes";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = n;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  /** Progress on stderr every few seconds, so a long check on a big store shows it is alive. */
  private static final class ProgressLines implements StoreCheck.Progress {
    private final PrintWriter err;
    private final long everyNanos;
    private long last = System.nanoTime();

    ProgressLines(PrintWriter err, long everyNanos) {
      this.err = err;
      this.everyNanos = everyNanos;
    }

    @Override
    public void update(String tier, long files, long totalFiles, long bytes, long totalBytes) {
      long now = System.nanoTime();
      if (now - last < everyNanos) {
        return;
      }
      last = now;
      err.printf(Locale.ROOT, "wharf fsck: %s: %d of %d files, %s of %s (%.0f%%)%n", tier, files,
          totalFiles, bytes(bytes), bytes(totalBytes),
          totalBytes == 0 ? 100.0 : 100.0 * bytes / totalBytes);
      err.flush();
    }
  }
}
