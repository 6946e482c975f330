package io.wharf.server.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code wharf purge blob|tag}: drop cached content from a running Wharf. */
@Command(name = "purge", mixinStandardHelpOptions = true,
    description = "Remove cached content from a running Wharf. Clients already downloading it"
        + " finish their download; the next request fetches it from upstream again.",
    subcommands = {PurgeCommand.Blob.class, PurgeCommand.Tag.class})
final class PurgeCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "blob", mixinStandardHelpOptions = true,
      description = "Remove blobs (or manifests) by digest from every tier. Exit status 1 when"
          + " one was not cached.")
  static final class Blob implements Callable<Integer> {
    @Mixin AdminClient admin;
    @Parameters(paramLabel = "DIGEST", arity = "1..*", description = "sha256:<64 hex>")
    List<String> digests;
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      return AdminCalls.deleteEach(spec, "purge blob", admin, "/admin/cache/blobs/", digests,
          (d, j) -> "purged " + d + " from " + j.path("removedFrom")
              + (j.path("manifest").asBoolean() ? " and the manifest store" : ""));
    }
  }

  @Command(name = "tag", mixinStandardHelpOptions = true,
      description = "Forget what tags point to, so the next pull asks upstream."
          + " REF is <upstream>/<repository>[:<tag>] (upstream by its configured name; without a"
          + " tag, every tag of the repository).")
  static final class Tag implements Callable<Integer> {
    @Mixin AdminClient admin;
    @Parameters(paramLabel = "REF", arity = "1..*", description = "e.g. docker.io/library/alpine:3.20")
    List<String> refs;
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      return AdminCalls.deleteEach(spec, "purge tag", admin, "/admin/cache/tags/", refs,
          (ref, j) -> "forgot " + ref + " (" + j.path("recordsRemoved").asInt() + " records)");
    }
  }
}
