/*
 * io_memory.c: readers and writers over float32 arrays in memory, so that
 * the iterative methods (recon.c) can hand their host-resident volumes
 * and projections to the streaming executors (stream.h) as if they were
 * files.  Nothing is converted or copied beyond the boxes asked for.
 */
#include "config.h"
#include "io_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mem {
	float *data;
	int64_t dims[3];
};

/* Copy the box [start, start + count) between the array (dims) and a
 * dense buffer; to_array says which way. */
static void copy_box(float *array, const int64_t dims[3],
		     const int64_t start[3], const int64_t count[3],
		     float *buf, bool to_array)
{
	int64_t i, j, row = count[2];

	for (i = 0; i < count[0]; i++) {
		for (j = 0; j < count[1]; j++) {
			float *a = array + ((start[0] + i) * dims[1] +
					    start[1] + j) * dims[2] + start[2];
			float *b = buf + (i * count[1] + j) * row;

			if (to_array)
				memcpy(a, b, (size_t)row * sizeof(float));
			else
				memcpy(b, a, (size_t)row * sizeof(float));
		}
	}
}

static int mem_read(struct kk_reader *r, const int64_t *start,
		    const int64_t *count, void *buf, struct kk_error *err)
{
	struct mem *m = r->impl;

	(void)err;
	copy_box(m->data, m->dims, start, count, buf, false);
	return 0;
}

static void mem_close(struct kk_reader *r)
{
	free(r->impl);
}

static const struct kk_reader_ops mem_reader_ops = {mem_read, mem_close};

static struct mem *new_mem(const float *data, const int64_t dims[3])
{
	struct mem *m = malloc(sizeof(*m));

	if (!m)
		return NULL;
	m->data = (float *)data;
	memcpy(m->dims, dims, sizeof(m->dims));
	return m;
}

int kk_reader_open_memory(struct kk_reader **out, const float *data,
			  const int64_t dims[3], const char *name,
			  struct kk_error *err)
{
	struct kk_reader *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r)
		r->impl = new_mem(data, dims);
	if (!r || !r->impl) {
		free(r);
		return kk_fail(err, KK_ENOMEM, "out of memory");
	}
	r->ops = &mem_reader_ops;
	r->squeeze = -1;
	r->count_axis = -1;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->info.rank = 3;
	memcpy(r->info.dims, dims, sizeof(r->info.dims));
	r->info.dtype = KK_F32;
	*out = r;
	return 0;
}

static int mem_write(struct kk_writer *w, int axis, int64_t start,
		     int64_t count, const void *buf, struct kk_error *err)
{
	struct mem *m = w->impl;
	int64_t s[3] = {0, 0, 0}, c[3];

	(void)err;
	memcpy(c, m->dims, sizeof(c));
	s[axis] = start;
	c[axis] = count;
	copy_box(m->data, m->dims, s, c, (float *)buf, true);
	return 0;
}

static int mem_finish(struct kk_writer *w, struct kk_error *err)
{
	(void)err;
	free(w->impl);
	w->impl = NULL;
	return 0;
}

static void mem_discard(struct kk_writer *w)
{
	free(w->impl);
	w->impl = NULL;
}

static const struct kk_writer_ops mem_writer_ops = {mem_write, mem_finish,
						    mem_discard};

int kk_writer_create_memory(struct kk_writer **out, float *data,
			    const int64_t dims[3], const char *name,
			    struct kk_error *err)
{
	struct kk_writer *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (w)
		w->impl = new_mem(data, dims);
	if (!w || !w->impl) {
		free(w);
		return kk_fail(err, KK_ENOMEM, "out of memory");
	}
	w->ops = &mem_writer_ops;
	w->squeeze = -1;
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->opts.dtype = KK_F32;
	w->info.rank = 3;
	memcpy(w->info.dims, dims, sizeof(w->info.dims));
	w->info.dtype = KK_F32;
	*out = w;
	return 0;
}
