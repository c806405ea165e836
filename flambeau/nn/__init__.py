"""(filled by its family)"""
