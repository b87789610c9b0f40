/*
 * kkit.c: main.  Global options, the command table and dispatch.
 *
 * Adding a subcommand takes three edits: write src/cmd_NAME.c with
 * cmd_NAME(argc, argv) and declare it in cmd.h; add a row to the table
 * below; add the file to Makefile.am and a section to man/kkit.1.
 */
#include "config.h"
#include "cmd.h"
#include "signals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"phantom", cmd_phantom, "make a test volume: Shepp-Logan, ball, ..."},
	{"fp", cmd_fp, "forward project a volume into projections"},
	{"bp", cmd_bp, "backproject projections into a volume"},
	{"fbp", cmd_fbp, "reconstruct by filtered backprojection (FBP, FDK)"},
	{"sirt", cmd_sirt, "reconstruct iteratively by SIRT"},
	{"cgls", cmd_cgls, "reconstruct iteratively by CGLS"},
	{"info", cmd_info, "show the build, libraries and devices"},
};

const char *kk_command_line;

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: kkit [--version] [--help] COMMAND [OPTIONS]\n\n"
		   "Tomographic forward and back projection, ASTRA's "
		   "geometry and scaling.\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(f, "\n'kkit COMMAND --help' shows a command's options; "
		   "man kkit(1) has them all,\nman kkit-geometry(5) the "
		   "geometry files.\n");
}

int main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	char *quoted;
	size_t i;
	int status;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    (!strcmp(argv[1], "help") && argc == 2)) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("kkit %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help") && argc == 3) {
		/* "kkit help fp" is "kkit fp --help". */
		argv[1] = argv[2];
		argv[2] = "--help";
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "kkit: '%s' is not a kkit command\n", argv[1]);
		usage(stderr);
		return 2;
	}
	quoted = kk_quote_argv(argc, argv);
	kk_command_line = quoted ? quoted : "kkit";
	kk_msg_set_command(cmd->name);
	kk_signals_install();
	status = cmd->fn(argc - 1, argv + 1);
	free(quoted);
	return status;
}
