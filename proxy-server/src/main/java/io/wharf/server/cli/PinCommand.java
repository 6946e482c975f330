package io.wharf.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code wharf pin add|ls|rm}: pinned images of a running Wharf. */
@Command(name = "pin", mixinStandardHelpOptions = true,
    description = {
      "Pin images in a running Wharf so eviction and retention never remove their manifests and"
          + " blobs (they stay in the tier that holds them; pinned bytes count against its"
          + " budget).",
      "`pin add` resolves the images and records the pins without fetching blobs (blobs fetched"
          + " later are protected); use `wharf prefetch --pin` to fetch them now."
    },
    subcommands = {PinCommand.Add.class, PinCommand.Ls.class, PinCommand.Rm.class})
final class PinCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "add", mixinStandardHelpOptions = true,
      description = "Pin images (REF as for `wharf prefetch`). Exit status 0 when pinned.")
  static final class Add implements Callable<Integer> {
    @Mixin AdminClient admin;
    @Parameters(paramLabel = "REF", arity = "1..*", description = "Image references.")
    List<String> images;
    @Option(names = "--platform", paramLabel = "OS/ARCH[/VARIANT]",
        description = "Only this platform (repeatable; default all).")
    List<String> platforms = new ArrayList<>();
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("images", images);
      if (!platforms.isEmpty()) {
        body.put("platforms", platforms);
      }
      return AdminCalls.run(spec, "pin add", () -> admin.send("POST", "/admin/pins", body), 201,
          (out, j) -> {
            for (JsonNode p : j.path("pins")) {
              out.println("pinned " + p.path("id").asText() + " (" + p.path("digests").size()
                  + " digests)");
            }
          });
    }
  }

  @Command(name = "ls", mixinStandardHelpOptions = true, description = "List pins.")
  static final class Ls implements Callable<Integer> {
    @Mixin AdminClient admin;
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      return AdminCalls.run(spec, "pin ls", () -> admin.send("GET", "/admin/pins", null), 200,
          (out, j) -> {
            for (JsonNode p : j.path("pins")) {
              out.println(p.path("id").asText() + "\t" + p.path("digests").size() + " digests\t"
                  + PrefetchCommand.ProgressBar.size(p.path("bytes").asLong()));
            }
          });
    }
  }

  @Command(name = "rm", mixinStandardHelpOptions = true,
      description = "Unpin: ID is <upstream>/<repository>:<tag> or ...@<digest>, as `pin ls`"
          + " shows it. The blobs stay cached and become evictable.")
  static final class Rm implements Callable<Integer> {
    @Mixin AdminClient admin;
    @Parameters(paramLabel = "ID", arity = "1..*", description = "Pin ids.")
    List<String> ids;
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      return AdminCalls.deleteEach(spec, "pin rm", admin, "/admin/pins/", ids,
          (id, j) -> "unpinned " + id);
    }
  }
}
