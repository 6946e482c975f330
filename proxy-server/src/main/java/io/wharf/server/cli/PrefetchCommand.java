package io.wharf.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code wharf prefetch REF...}: warm a running Wharf's cache and wait for it. */
@Command(name = "prefetch", mixinStandardHelpOptions = true,
    description = {
      "Fetch whole images into a running Wharf's cache and wait until they are stored.",
      "Each REF is [registry/]repository[:tag|@digest] (docker.io/library/alpine:3.20,"
          + " ghcr.io/org/app@sha256:...). A registry host selects the upstream answering to it;"
          + " without one the default upstream is used. Every manifest and blob goes through the"
          + " same coalesced fetch as client pulls.",
      "Progress (bytes done/total) is drawn on stderr. Exit status: 0 when every image is"
          + " cached, 1 when any image or blob failed (errors printed), 2 when the request was"
          + " refused (bad reference, unknown registry, wrong token) or the admin API is"
          + " unreachable.",
      "Typical use: run it when a batch of jobs is submitted, before the nodes start."
    })
final class PrefetchCommand implements Callable<Integer> {
  @Mixin AdminClient admin;

  @Parameters(paramLabel = "REF", arity = "1..*", description = "Image references.")
  List<String> images;

  @Option(names = "--platform", paramLabel = "OS/ARCH[/VARIANT]",
      description = "Only this platform of multi-platform images (repeatable; default: all"
          + " platforms).")
  List<String> platforms = new ArrayList<>();

  @Option(names = "--pin",
      description = "Pin the images: eviction and retention never remove them until"
          + " `wharf pin rm`.")
  boolean pin;

  @Option(names = "--poll-interval", paramLabel = "MILLIS", defaultValue = "500",
      description = "How often to ask for progress (default ${DEFAULT-VALUE} ms).")
  long pollMillis;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter err = spec.commandLine().getErr();
    PrintWriter out = spec.commandLine().getOut();
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("images", images);
    if (!platforms.isEmpty()) {
      body.put("platforms", platforms);
    }
    body.put("pin", pin);
    try {
      AdminClient.Reply started = admin.send("POST", "/admin/prefetch", body);
      if (started.status() != 202) {
        err.println("wharf prefetch: refused: " + started.errorText());
        err.flush();
        return 2;
      }
      String id = started.body().path("id").asText();
      ProgressBar bar = new ProgressBar(err, System.console() != null);
      for (; ; ) {
        AdminClient.Reply r = admin.send("GET", "/admin/prefetch/" + id, null);
        if (r.status() != 200) {
          bar.finish();
          err.println("wharf prefetch: job " + id + ": " + r.errorText());
          err.flush();
          return 1;
        }
        JsonNode s = r.body();
        String state = s.path("state").asText();
        bar.draw(s.path("bytesDone").asLong(), s.path("bytesTotal").asLong(),
            s.path("blobsDone").asInt(), s.path("blobsTotal").asInt());
        if (!state.equals("running")) {
          bar.finish();
          for (JsonNode e : s.path("errors")) {
            err.println("wharf prefetch: error: " + e.asText());
          }
          err.flush();
          for (JsonNode img : s.path("resolved")) {
            out.println(img.path("image").asText() + " -> " + img.path("upstream").asText() + "/"
                + img.path("repository").asText() + "@" + img.path("digest").asText() + " ("
                + img.path("blobs").asInt() + " blobs, " + ProgressBar.size(img.path("bytes")
                .asLong()) + ")" + (pin ? " pinned" : ""));
          }
          out.flush();
          return state.equals("done") ? 0 : 1;
        }
        Thread.sleep(Duration.ofMillis(Math.max(50, pollMillis)).toMillis());
      }
    } catch (AdminClient.AdminUnreachableException e) {
      err.println("wharf prefetch: " + e.getMessage());
      err.flush();
      return 2;
    }
  }

  /** A one-line progress bar: redrawn in place on a terminal, else a line per 10 %. */
  static final class ProgressBar {
    private static final int WIDTH = 30;
    private final PrintWriter err;
    private final boolean terminal;
    private int lastDecile = -1;
    private boolean drawn;

    ProgressBar(PrintWriter err, boolean terminal) {
      this.err = err;
      this.terminal = terminal;
    }

    void draw(long done, long total, int blobsDone, int blobsTotal) {
      double f = total <= 0 ? (blobsTotal == 0 ? 0 : (double) blobsDone / blobsTotal)
          : Math.min(1.0, (double) done / total);
      int filled = (int) Math.round(f * WIDTH);
      String line = "[" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] "
          + String.format(java.util.Locale.ROOT, "%3d%%", (int) Math.floor(f * 100)) + " "
          + size(done) + " / " + size(total) + ", " + blobsDone + "/" + blobsTotal + " blobs";
      if (terminal) {
        err.print("\r" + line + "   ");
        drawn = true;
      } else {
        int decile = (int) Math.floor(f * 10);
        if (decile != lastDecile) {
          err.println(line);
          lastDecile = decile;
        }
      }
      err.flush();
    }

    void finish() {
      if (terminal && drawn) {
        err.println();
        err.flush();
      }
    }

    static String size(long bytes) {
      if (bytes < 1024) {
        return bytes + " B";
      }
      String[] units = {"KiB", "MiB", "GiB", "TiB"};
      double v = bytes;
      int u = -1;
      while (v >= 1024 && u < units.length - 1) {
        v /= 1024;
        u++;
      }
      return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }
  }
}
