/* Symbols of an ELF file for opener stacks (see CTcptraceHost.h), through libelf. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>
#include "CTcptraceHost.h"

static int read_symbols(Elf *elf, Elf64_Word type, tcptrace_elf_symbol_fn on_symbol, void *ctx, unsigned long long max)
{
	Elf_Scn *scn = NULL;
	int found = 0;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || sh.sh_entsize == 0)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		unsigned long long n = sh.sh_size / sh.sh_entsize;
		for (unsigned long long i = 0; i < n && i < max; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym))
				break;
			if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_value == 0)
				continue;
			const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (name && *name) {
				on_symbol(ctx, sym.st_value, sym.st_size, name);
				found = 1;
			}
		}
	}
	return found;
}

int tcptrace_elf_read(const char *path, struct tcptrace_elf_segment *segments, int max_segments, int *n_segments,
		      tcptrace_elf_symbol_fn on_symbol, void *ctx, unsigned long long max_symbols)
{
	*n_segments = 0;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		close(fd);
		return -ENOEXEC;
	}
	size_t phnum = 0;
	if (elf_getphdrnum(elf, &phnum) == 0) {
		for (size_t i = 0; i < phnum && *n_segments < max_segments; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
				continue;
			segments[*n_segments].offset = ph.p_offset;
			segments[*n_segments].vaddr = ph.p_vaddr;
			segments[*n_segments].filesz = ph.p_filesz;
			(*n_segments)++;
		}
	}
	/* .symtab has every function when not stripped; .dynsym only the exported ones. */
	if (!read_symbols(elf, SHT_SYMTAB, on_symbol, ctx, max_symbols))
		read_symbols(elf, SHT_DYNSYM, on_symbol, ctx, max_symbols);
	elf_end(elf);
	close(fd);
	return 0;
}
