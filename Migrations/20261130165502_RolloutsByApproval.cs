using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KeelPortal.Migrations
{
    /// <inheritdoc />
    public partial class RolloutsByApproval : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "ApprovalId",
                table: "Rollouts",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_Rollouts_ApprovalId_Generation",
                table: "Rollouts",
                columns: new[] { "ApprovalId", "Generation" },
                unique: true,
                filter: "\"ApprovalId\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Rollouts_State",
                table: "Rollouts",
                column: "State");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Rollouts_ApprovalId_Generation",
                table: "Rollouts");

            migrationBuilder.DropIndex(
                name: "IX_Rollouts_State",
                table: "Rollouts");

            migrationBuilder.DropColumn(
                name: "ApprovalId",
                table: "Rollouts");
        }
    }
}
