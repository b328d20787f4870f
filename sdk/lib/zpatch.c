/* A new zone version from its predecessor and the few owners a change touches, in time that
 * grows with the change and with memory copies of the node arrays, not with sorting and
 * checking the whole zone again (cdns_zone_apply's fast path).
 *
 * The caller builds `mini`: a zone of the affected owners' records after the change (the
 * apex always among them, so it is a valid zone, and the builder's checks of those owners
 * are the checks of the change). Here, the old node array is copied in runs between the
 * places where mini's nodes go (binary search), affected nodes are replaced by mini's,
 * owners left without records become empty non-terminals or disappear with their empty
 * ancestors, and parents, flags and the index are fixed up. RRsets, RDATA and names are not
 * copied: the new version shares the old one's segments and adds mini's. */
#include <stdlib.h>
#include <string.h>

#include <clouddns/error.h>
#include <clouddns/name.h>
#include <clouddns/rrtype.h>

#include "zone_impl.h"

/* Where name goes in nodes[0..n) (canonical order): the first index whose owner is not
 * below name in that order. */
static size_t lower_bound(const cdns_znode_t *nodes, size_t n, const uint8_t *name)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cdns_name_cmp(nodes[mid].owner, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index of name in nodes[0..n), or CDNS__NONE. */
static uint32_t find_sorted(const cdns_znode_t *nodes, size_t n, const uint8_t *name)
{
	size_t k = lower_bound(nodes, n, name);
	return k < n && cdns_name_equal(nodes[k].owner, name) ? (uint32_t)k : CDNS__NONE;
}

static int name_ptr_cmp(const void *a, const void *b)
{
	return cdns_name_cmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b);
}

static int u32_desc(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Is name among the affected names (sorted canonically)? */
static bool is_affected(const uint8_t **sorted, size_t n, const uint8_t *name)
{
	return bsearch(&name, sorted, n, sizeof(*sorted), name_ptr_cmp) != NULL;
}

/* Is name strictly below parent? */
static bool below(const uint8_t *name, const uint8_t *parent)
{
	return cdns_name_in(name, parent) && !cdns_name_equal(name, parent);
}

#define WILD_MAX 256

static bool is_wild(const uint8_t *name)
{
	return name[0] == 1 && name[1] == '*';
}

/* Does "*.<name>" exist in z (its index built)? */
static bool has_wildcard_child(const cdns_zone_t *z, const uint8_t *name)
{
	uint8_t w[CDNS_NAME_MAXLEN + 2];
	size_t len = cdns_name_len(name);
	if (len + 2 > CDNS_NAME_MAXLEN)
		return false;
	w[0] = 1;
	w[1] = '*';
	memcpy(w + 2, name, len);
	return cdns__zone_lookup(z, w, len + 2, cdns_name_hash(w)) != NULL;
}

int cdns__zone_patch(const cdns_zone_t *old, const cdns_zone_t *mini,
                     const uint8_t *const *affected, size_t n_affected, cdns_zone_t **out)
{
	*out = NULL;
	if (old->n_segs + mini->n_segs > CDNS__ZONE_SEGS_MAX || mini->n_nodes == 0 ||
	    old->n_nodes == 0)
		return CDNS_ENOTSUP;

	size_t n0 = old->n_nodes, n1 = mini->n_nodes, cap = n0 + n1;
	int ret = CDNS_ENOMEM;
	uint32_t *remap = malloc(n0 * sizeof(*remap));  /* old index -> new index */
	uint32_t *special = malloc(cap * sizeof(*special)); /* new indexes not copied as is */
	uint8_t *dropped = NULL;
	size_t n_special = 0;
	const uint8_t **aff = malloc((n_affected ? n_affected : 1) * sizeof(*aff));
	cdns_zone_t *z = calloc(1, sizeof(*z));
	if (remap == NULL || special == NULL || aff == NULL || z == NULL)
		goto fail;
	memcpy(aff, affected, n_affected * sizeof(*aff));
	qsort(aff, n_affected, sizeof(*aff), name_ptr_cmp);
	atomic_init(&z->refs, 1);
	z->nodes = cdns__big_alloc(cap * sizeof(*z->nodes));
	if (z->nodes == NULL)
		goto fail;
	z->nodes_cap = cap;

	/* 1. Merge: runs of old nodes, and mini's nodes where they go. A name in both is
	 * mini's when affected (its records after the change), else old's (mini has it only
	 * as an empty ancestor of an affected name). */
	size_t i = 0, k = 0, n_inserted = 0;
	long long d_rrs = 0, d_rrsets = 0;
	for (size_t j = 0; j <= n1; j++) {
		size_t to = j < n1 ? lower_bound(old->nodes + i, n0 - i, mini->nodes[j].owner) + i : n0;
		if (to > i) {
			memcpy(z->nodes + k, old->nodes + i, (to - i) * sizeof(*z->nodes));
			for (size_t t = i; t < to; t++)
				remap[t] = (uint32_t)(k + (t - i));
			k += to - i;
			i = to;
		}
		if (j == n1)
			break;
		const cdns_znode_t *m = &mini->nodes[j];
		bool same = i < n0 && cdns_name_equal(old->nodes[i].owner, m->owner);
		if (same && !is_affected(aff, n_affected, m->owner)) {
			z->nodes[k] = old->nodes[i];
			remap[i++] = (uint32_t)k++;
			continue;
		}
		if (!same)
			n_inserted++;
		if (same) {
			const cdns_znode_t *o = &old->nodes[i];
			for (unsigned r = 0; r < o->n_rrsets; r++)
				d_rrs -= o->rrsets[r].count;
			d_rrsets -= o->n_rrsets;
			remap[i++] = (uint32_t)k;
		}
		z->nodes[k] = *m;
		for (unsigned r = 0; r < m->n_rrsets; r++)
			d_rrs += m->rrsets[r].count;
		d_rrsets += m->n_rrsets;
		special[n_special++] = (uint32_t)k++;
	}
	size_t n = k;

	/* 2. Affected owners mini lacks have no records left: empty them where they are. */
	for (size_t a = 0; a < n_affected; a++) {
		if (find_sorted(mini->nodes, n1, affected[a]) != CDNS__NONE)
			continue;
		uint32_t at = find_sorted(z->nodes, n, affected[a]);
		if (at == CDNS__NONE || at == 0)
			continue; /* not in the zone before either (or the apex, which mini has) */
		cdns_znode_t *e = &z->nodes[at];
		for (unsigned r = 0; r < e->n_rrsets; r++)
			d_rrs -= e->rrsets[r].count;
		d_rrsets -= e->n_rrsets;
		e->n_rrsets = 0;
		e->rrsets = NULL;
		special[n_special++] = at;
	}

	/* Wildcards that came or went (as records or as empty non-terminals): their parents'
	 * flag is looked at again at the end. */
	const uint8_t *wild[WILD_MAX];
	size_t n_wild = 0;
	for (size_t a = 0; a < n_affected; a++)
		if (is_wild(affected[a]) && n_wild < WILD_MAX)
			wild[n_wild++] = affected[a];

	/* 3. Empty nodes without descendants go, and then maybe their empty parents.
	 * Candidates: every empty special node and each empty ancestor of one; deepest
	 * (largest index: pre-order) first, so a parent is judged after its children. */
	dropped = calloc(n ? n : 1, 1);
	uint32_t *cand = malloc((n_special * CDNS_NAME_MAXLABELS + 1) * sizeof(*cand));
	size_t n_cand = 0;
	if (dropped == NULL || cand == NULL) {
		free(cand);
		goto fail;
	}
	for (size_t s = 0; s < n_special; s++) {
		uint32_t at = special[s];
		const uint8_t *name = z->nodes[at].owner;
		while (at != 0 && at != CDNS__NONE && z->nodes[at].n_rrsets == 0) {
			cand[n_cand++] = at;
			name += name[0] + 1;
			at = find_sorted(z->nodes, n, name);
		}
	}
	/* Descending, duplicates next to each other. */
	qsort(cand, n_cand, sizeof(*cand), u32_desc);
	size_t n_dropped = 0;
	for (size_t c = 0; c < n_cand; c++) {
		uint32_t at = cand[c];
		if (c > 0 && cand[c - 1] == at)
			continue;
		size_t next = at + 1;
		while (next < n && dropped[next])
			next++;
		if (next < n && below(z->nodes[next].owner, z->nodes[at].owner))
			continue;
		dropped[at] = 1;
		n_dropped++;
		if (is_wild(z->nodes[at].owner) && n_wild < WILD_MAX)
			wild[n_wild++] = z->nodes[at].owner;
	}
	free(cand);
	if (n_dropped > 0) {
		/* Close the gaps; new index of every kept node. */
		uint32_t *shift = malloc(n * sizeof(*shift));
		if (shift == NULL)
			goto fail;
		size_t w = 0;
		for (size_t r = 0; r < n; r++) {
			shift[r] = dropped[r] ? CDNS__NONE : (uint32_t)w;
			if (!dropped[r])
				z->nodes[w++] = z->nodes[r];
		}
		for (size_t t = 0; t < n0; t++)
			remap[t] = shift[remap[t]];
		size_t ns = 0;
		for (size_t s = 0; s < n_special; s++)
			if (shift[special[s]] != CDNS__NONE)
				special[ns++] = shift[special[s]];
		n_special = ns;
		free(shift);
		n = w;
	}
	z->n_nodes = n;

	/* 4. Parents: an old node's parent is where the old parent went (it cannot have gone:
	 * it has this descendant); a special node's is found by name. */
	z->parent = cdns__big_alloc((n ? n : 1) * sizeof(*z->parent));
	if (z->parent == NULL)
		goto fail;
	bool same_places = n_inserted == 0 && n_dropped == 0; /* remap is the identity */
	if (same_places) {
		memcpy(z->parent, old->parent, n * sizeof(*z->parent));
	} else {
		for (size_t t = 0; t < n0; t++) {
			if (remap[t] == CDNS__NONE)
				continue;
			uint32_t p = old->parent[t];
			z->parent[remap[t]] = p == CDNS__NONE ? CDNS__NONE : remap[p];
		}
	}
	for (size_t s = 0; s < n_special; s++) {
		uint32_t at = special[s];
		const uint8_t *name = z->nodes[at].owner;
		z->parent[at] = at == 0 ? CDNS__NONE : find_sorted(z->nodes, n, name + name[0] + 1);
	}

	/* 5. The index, then flags: special nodes get theirs from their records and their
	 * parent (in index order: a parent first), and a wildcard added or removed changes its
	 * parent's. Occlusion of old nodes stays: a change that adds or removes a zone cut or
	 * a DNAME is not patched (the caller rebuilds). */
	if (same_places) {
		/* Same names at the same places: the same index. */
		size_t bytes = ((size_t)1 << old->index_bits) * sizeof(*z->index);
		z->index = cdns__big_alloc(bytes);
		if (z->index == NULL)
			goto fail;
		memcpy(z->index, old->index, bytes);
		z->index_bits = old->index_bits;
	} else if ((ret = cdns__build_index(z)) < 0) {
		goto fail;
	}
	ret = CDNS_ENOMEM;
	qsort(special, n_special, sizeof(*special), u32_desc);
	for (size_t s = n_special; s-- > 0;) {
		uint32_t at = special[s];
		cdns_znode_t *e = &z->nodes[at];
		uint16_t flags = 0;
		for (unsigned r = 0; r < e->n_rrsets; r++) {
			if (e->rrsets[r].type == CDNS_T_CNAME)
				flags |= CDNS_ZNODE_CNAME;
			else if (e->rrsets[r].type == CDNS_T_DNAME)
				flags |= CDNS_ZNODE_DNAME;
			else if (e->rrsets[r].type == CDNS_T_NS && at != 0)
				flags |= CDNS_ZNODE_DELEG;
		}
		if (at == 0)
			flags |= CDNS_ZNODE_APEX;
		if (e->n_rrsets == 0)
			flags |= CDNS_ZNODE_ENT;
		if (at != 0 && z->parent[at] != CDNS__NONE &&
		    (z->nodes[z->parent[at]].flags &
		     (CDNS_ZNODE_OCCLUDED | CDNS_ZNODE_DELEG | CDNS_ZNODE_DNAME)))
			flags |= CDNS_ZNODE_OCCLUDED;
		if (has_wildcard_child(z, e->owner))
			flags |= CDNS_ZNODE_WILDCARD;
		e->flags = flags;
	}
	for (size_t s = 0; s < n_special; s++)
		if (is_wild(z->nodes[special[s]].owner) && n_wild < WILD_MAX)
			wild[n_wild++] = z->nodes[special[s]].owner;
	if (n_wild == WILD_MAX) {
		ret = CDNS_ENOTSUP; /* too many to track: the caller rebuilds */
		goto fail;
	}
	for (size_t a = 0; a < n_wild; a++) {
		const uint8_t *w = wild[a];
		uint32_t p = find_sorted(z->nodes, n, w + 2);
		if (p == CDNS__NONE)
			continue;
		if (has_wildcard_child(z, z->nodes[p].owner))
			z->nodes[p].flags |= CDNS_ZNODE_WILDCARD;
		else
			z->nodes[p].flags &= (uint16_t)~CDNS_ZNODE_WILDCARD;
	}

	/* 6. The rest, and the segments: old's and mini's. */
	z->segs = malloc((old->n_segs + mini->n_segs) * sizeof(*z->segs));
	if (z->segs == NULL)
		goto fail;
	for (unsigned g = 0; g < old->n_segs; g++) {
		atomic_fetch_add_explicit(&old->segs[g]->refs, 1, memory_order_relaxed);
		z->segs[z->n_segs++] = old->segs[g];
	}
	for (unsigned g = 0; g < mini->n_segs; g++) {
		atomic_fetch_add_explicit(&mini->segs[g]->refs, 1, memory_order_relaxed);
		z->segs[z->n_segs++] = mini->segs[g];
	}
	z->rclass = old->rclass;
	z->apex_len = old->apex_len;
	z->apex_labels = old->apex_labels;
	z->max_labels = old->max_labels > mini->max_labels ? old->max_labels : mini->max_labels;
	z->n_rrsets = (size_t)((long long)old->n_rrsets + d_rrsets);
	z->n_rrs = (size_t)((long long)old->n_rrs + d_rrs);
	cdns__zone_soa_fields(z);
	free(remap);
	free(special);
	free(dropped);
	free(aff);
	*out = z;
	return 0;
fail:
	cdns__zone_free(z);
	free(remap);
	free(special);
	free(dropped);
	free(aff);
	return ret;
}
