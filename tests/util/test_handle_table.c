// SPDX-License-Identifier: MIT
/* test_handle_table.c - ids, generations, deferred release, concurrency. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "vhostfs/handle_table.h"

struct obj {
	uint32_t magic;
	int value;
};

#define OBJ_MAGIC 0x0b1ec7u

static atomic_int released;
static void *last_released;

static void obj_release(void *ctx, void *obj)
{
	atomic_fetch_add(&released, 1);
	last_released = obj;
	(void)ctx;
}

static int setup(void **state)
{
	struct handle_table *t;

	atomic_store(&released, 0);
	last_released = NULL;
	assert_int_equal(handle_table_create(&t, 0, obj_release, NULL), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	handle_table_destroy(*state);
	return 0;
}

static void test_insert_get(void **state)
{
	struct handle_table *t = *state;
	int a = 1, b = 2;
	uint64_t ida, idb;

	assert_int_equal(handle_table_insert(t, &a, &ida), 0);
	assert_int_equal(handle_table_insert(t, &b, &idb), 0);
	assert_true(ida > 1 && idb > 1 && ida != idb);
	assert_int_equal(handle_table_count(t), 2);
	assert_ptr_equal(handle_table_get(t, ida), &a);
	assert_ptr_equal(handle_table_get(t, idb), &b);
	handle_table_put(t, ida);
	handle_table_put(t, idb);
}

static void test_forged_ids(void **state)
{
	struct handle_table *t = *state;
	int a = 1;
	uint64_t id;

	assert_int_equal(handle_table_insert(t, &a, &id), 0);
	assert_null(handle_table_get(t, 0));
	assert_null(handle_table_get(t, 1));
	assert_null(handle_table_get(t, UINT64_MAX));
	assert_null(handle_table_get(t, id + 1));         /* unused slot */
	assert_null(handle_table_get(t, id + (1ull << 32))); /* other gen */
	assert_null(handle_table_get(t, (id & 0xffffffffu) | 0x1234ull << 32));
	assert_null(handle_table_get(t, 0xffffffffull)); /* beyond max */
	assert_null(handle_table_get(t, 5000)); /* in range, no chunk yet */
	assert_int_equal(handle_table_remove(t, 1), -ENOENT);
	assert_int_equal(handle_table_remove(t, id + 1), -ENOENT);
	/* put of an id never got is refused (logged), table stays sane */
	handle_table_put(t, id);
	handle_table_put(t, 12345);
	assert_ptr_equal(handle_table_get(t, id), &a);
	handle_table_put(t, id);
}

static void test_reuse_bumps_generation(void **state)
{
	struct handle_table *t = *state;
	int a = 1, b = 2;
	uint64_t ida, idb;

	assert_int_equal(handle_table_insert(t, &a, &ida), 0);
	assert_int_equal(handle_table_remove(t, ida), 0);
	assert_int_equal(atomic_load(&released), 1);
	assert_ptr_equal(last_released, &a);
	assert_int_equal(handle_table_insert(t, &b, &idb), 0);
	/* same slot, new generation: the old id is stale */
	assert_int_equal((uint32_t)ida, (uint32_t)idb);
	assert_true(ida != idb);
	assert_null(handle_table_get(t, ida));
	assert_int_equal(handle_table_remove(t, ida), -ENOENT);
	assert_ptr_equal(handle_table_get(t, idb), &b);
	handle_table_put(t, idb);
	assert_int_equal(handle_table_remove(t, idb), 0);
	assert_int_equal(handle_table_remove(t, idb), -ENOENT);
	assert_int_equal(handle_table_count(t), 0);
}

static void test_deferred_release(void **state)
{
	struct handle_table *t = *state;
	int a = 1;
	uint64_t id;

	assert_int_equal(handle_table_insert(t, &a, &id), 0);
	assert_ptr_equal(handle_table_get(t, id), &a);
	assert_ptr_equal(handle_table_get(t, id), &a);
	assert_int_equal(handle_table_remove(t, id), 0);
	assert_int_equal(handle_table_count(t), 0);
	/* removed: no new lookups, but held references stay good */
	assert_null(handle_table_get(t, id));
	assert_int_equal(atomic_load(&released), 0);
	handle_table_put(t, id);
	assert_int_equal(atomic_load(&released), 0);
	handle_table_put(t, id);
	assert_int_equal(atomic_load(&released), 1);
	assert_ptr_equal(last_released, &a);
	/* the slot is free again, under a new generation */
	assert_int_equal(handle_table_insert(t, &a, &id), 0);
	assert_int_equal(handle_table_count(t), 1);
}

static void test_take(void **state)
{
	struct handle_table *t = *state;
	int a = 1;
	uint64_t id;
	void *obj = NULL;

	assert_int_equal(handle_table_insert(t, &a, &id), 0);
	assert_ptr_equal(handle_table_get(t, id), &a);
	assert_int_equal(handle_table_take(t, id, &obj), -EBUSY);
	assert_null(obj);
	assert_int_equal(handle_table_count(t), 1);
	handle_table_put(t, id);
	assert_int_equal(handle_table_take(t, id, &obj), 0);
	assert_ptr_equal(obj, &a);
	assert_int_equal(atomic_load(&released), 0);
	assert_int_equal(handle_table_take(t, id, &obj), -ENOENT);
	assert_null(handle_table_get(t, id));
	assert_int_equal(handle_table_count(t), 0);
}

static void test_full_and_growth(void **state)
{
	struct handle_table *t;
	static uint64_t ids[10000];
	int x;

	assert_int_equal(handle_table_create(&t, 10000, NULL, NULL), 0);
	/* crosses chunk boundaries */
	for (int i = 0; i < 10000; i++)
		assert_int_equal(handle_table_insert(t, &ids[i], &ids[i]), 0);
	assert_int_equal(handle_table_insert(t, &x, &ids[0]), -ENFILE);
	assert_int_equal(handle_table_count(t), 10000);
	for (int i = 0; i < 10000; i += 97) {
		assert_ptr_equal(handle_table_get(t, ids[i]), &ids[i]);
		handle_table_put(t, ids[i]);
	}
	assert_int_equal(handle_table_remove(t, ids[5000]), 0);
	assert_int_equal(handle_table_insert(t, &x, &ids[5000]), 0);
	handle_table_destroy(t);
	assert_int_equal(handle_table_create(&t, 0xffffffffu, NULL, NULL),
			 -EINVAL);
}

static void test_destroy_releases(void **state)
{
	struct handle_table *t;
	int a = 1, b = 2, c = 3;
	uint64_t ida, idb, idc;

	atomic_store(&released, 0);
	assert_int_equal(handle_table_create(&t, 0, obj_release, NULL), 0);
	assert_int_equal(handle_table_insert(t, &a, &ida), 0);
	assert_int_equal(handle_table_insert(t, &b, &idb), 0);
	assert_int_equal(handle_table_insert(t, &c, &idc), 0);
	assert_int_equal(handle_table_remove(t, idc), 0);
	/* b removed while referenced: still owed a release */
	assert_non_null(handle_table_get(t, idb));
	assert_int_equal(handle_table_remove(t, idb), 0);
	assert_int_equal(atomic_load(&released), 1);
	handle_table_destroy(t);
	assert_int_equal(atomic_load(&released), 3);
}

/* --- stress: readers get/put while a writer removes and inserts ------ */

#define STRESS_IDS 64
#define STRESS_ROUNDS 200000

struct stress {
	struct handle_table *t;
	_Atomic uint64_t ids[STRESS_IDS];
	atomic_bool stop;
	atomic_long hits, misses, bad;
};

static void stress_release(void *ctx, void *o)
{
	struct obj *obj = o;

	atomic_fetch_add(&released, 1);
	obj->magic = 0xdead;
	free(obj); /* ASan catches any reader still using it */
	(void)ctx;
}

static void *stress_reader(void *arg)
{
	struct stress *s = arg;
	unsigned int seed = (unsigned int)(uintptr_t)&seed;

	while (!atomic_load(&s->stop)) {
		uint64_t id = atomic_load(&s->ids[rand_r(&seed) % STRESS_IDS]);
		struct obj *o = handle_table_get(s->t, id);

		if (!o) {
			atomic_fetch_add(&s->misses, 1);
			continue;
		}
		if (o->magic != OBJ_MAGIC || o->value != (int)(uint32_t)id)
			atomic_fetch_add(&s->bad, 1);
		atomic_fetch_add(&s->hits, 1);
		handle_table_put(s->t, id);
	}
	return NULL;
}

static void stress_replace(struct stress *s, int i)
{
	struct obj *o = malloc(sizeof(*o));
	uint64_t old = atomic_load(&s->ids[i]), id;
	void *taken;

	assert_non_null(o);
	o->magic = OBJ_MAGIC;
	/* alternate remove and take so both race with readers */
	if (i & 1) {
		assert_int_equal(handle_table_remove(s->t, old), 0);
	} else if (handle_table_take(s->t, old, &taken) == 0) {
		stress_release(NULL, taken);
	} else {
		assert_int_equal(handle_table_remove(s->t, old), 0);
	}
	assert_int_equal(handle_table_insert(s->t, o, &id), 0);
	/* readers learn the id only from the store below, after this */
	o->value = (int)(uint32_t)id;
	atomic_store(&s->ids[i], id);
}

static void test_stress(void **state)
{
	static struct stress s;
	pthread_t th[2];

	atomic_store(&released, 0);
	s = (struct stress){ 0 };
	assert_int_equal(handle_table_create(&s.t, 0, stress_release, NULL), 0);
	for (int i = 0; i < STRESS_IDS; i++) {
		struct obj *o = malloc(sizeof(*o));
		uint64_t id;

		assert_non_null(o);
		assert_int_equal(handle_table_insert(s.t, o, &id), 0);
		*o = (struct obj){ OBJ_MAGIC, (int)(uint32_t)id };
		atomic_store(&s.ids[i], id);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, stress_reader, &s),
				 0);
	for (int r = 0; r < STRESS_ROUNDS; r++)
		stress_replace(&s, r % STRESS_IDS);
	atomic_store(&s.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&s.bad), 0);
	assert_int_equal(handle_table_count(s.t), STRESS_IDS);
	assert_int_equal(atomic_load(&released), STRESS_ROUNDS);
	handle_table_destroy(s.t);
	assert_int_equal(atomic_load(&released), STRESS_ROUNDS + STRESS_IDS);
	print_message("stress: %ld hits, %ld misses\n", atomic_load(&s.hits),
		      atomic_load(&s.misses));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insert_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reuse_bumps_generation,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_release, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_take, setup, teardown),
		cmocka_unit_test(test_full_and_growth),
		cmocka_unit_test(test_destroy_releases),
		cmocka_unit_test(test_stress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
