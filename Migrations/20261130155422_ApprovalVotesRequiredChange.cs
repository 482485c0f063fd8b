using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KeelPortal.Migrations
{
    /// <inheritdoc />
    public partial class ApprovalVotesRequiredChange : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "VotesRequiredBefore",
                table: "Approvals",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "VotesRequiredChangedAtUtc",
                table: "Approvals",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "VotesRequiredChangedBy",
                table: "Approvals",
                type: "TEXT",
                maxLength: 200,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "VotesRequiredBefore",
                table: "Approvals");

            migrationBuilder.DropColumn(
                name: "VotesRequiredChangedAtUtc",
                table: "Approvals");

            migrationBuilder.DropColumn(
                name: "VotesRequiredChangedBy",
                table: "Approvals");
        }
    }
}
