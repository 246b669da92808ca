"""Domain: the road network (twin tables, compiled graphs)."""
