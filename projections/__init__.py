"""leadkey.projections"""
